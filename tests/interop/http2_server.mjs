// http2_server.mjs: an HTTPS server speaking HTTP/2 (and HTTP/1.1 to
// clients that do not offer h2 by ALPN), for tests/interop/http2_interop.
// GET /hello answers "hello over HTTP/<version>"; GET /json answers
// {"version": "<version>"}. Prints "listening PORT" when ready.
// Usage: node http2_server.mjs KEY.pem CERT.pem
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';

const [key, cert] = process.argv.slice(2);
const server = http2.createSecureServer(
  { key: readFileSync(key), cert: readFileSync(cert), allowHTTP1: true },
  (req, res) => {
    if (req.url === '/hello') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello over HTTP/${req.httpVersion}`);
    } else if (req.url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ version: req.httpVersion }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
