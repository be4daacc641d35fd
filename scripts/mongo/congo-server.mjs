// The MongoDB wire-protocol test server: CongoDB (installed by
// setup-congo.sh) in memory on 127.0.0.1.
// Usage: node congo-server.mjs PORT. Stops on SIGTERM or SIGINT.
import { congodb } from './node_modules/.congo/package/dist_ts/index.congo.js';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node congo-server.mjs PORT');
  process.exit(2);
}
const server = new congodb.CongoServer({ port, host: '127.0.0.1', storage: 'memory' });
await server.start();
console.log(`congodb listening on 127.0.0.1:${port} pid=${process.pid}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
