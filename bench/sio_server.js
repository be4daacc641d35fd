// sio_server.js: the Node side of roster-bench-sio, socket.io 4.8 (from
// tests/interop/node_modules; scripts/npm.sh installs it). The same contract
// as the roster server the benchmark runs (bench_sio_server.c):
//   - path /socket.io/, WebSocket and polling, no compression;
//   - on event 'go': broadcast event 'msg' with one 100-byte string to every
//     socket;
//   - on event 'echo' with an ack: answer the ack with the same arguments.
// Binds 127.0.0.1 on PORT (0: any free port) and prints one line,
// "listening <port> pid=<pid>", on stdout once it listens. Exits on SIGTERM.
// Usage: node bench/sio_server.js [PORT]
'use strict';

const path = require('path');
const http = require('http');

let Server;
try {
  ({ Server } = require(path.join(__dirname, '..', 'tests', 'interop', 'node_modules', 'socket.io')));
} catch (e) {
  console.error('sio_server: socket.io is not installed (run scripts/npm.sh): ' + e.message);
  process.exit(2);
}

const PAYLOAD = 'x'.repeat(100);
const srv = http.createServer();
const io = new Server(srv, {
  transports: ['websocket', 'polling'],
  perMessageDeflate: false,
  serveClient: false,
});
io.on('connection', (s) => {
  s.on('go', () => io.emit('msg', PAYLOAD));
  s.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});
srv.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log(`listening ${srv.address().port} pid=${process.pid}`);
});
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
