// eio_interop.mjs: the real engine.io-client (6.6, brought by
// socket.io-client 4.8 in package-lock.json) against roster's Engine.IO
// server (eio_interop.c starts it and runs this with its URL). Three
// connections: polling only, WebSocket only, polling then upgrade. On
// each, the server sends "hello" and the bytes 1 2 3 on open and echoes
// what it gets; this side checks both, text and binary. Prints "ok" and
// exits 0 when every check passes.
import assert from 'node:assert/strict';
import { Socket } from 'engine.io-client';

const url = process.argv[2];
const timer = setTimeout(() => {
  console.error('eio_interop: timed out');
  process.exit(1);
}, 20000);

// queue: the messages of a socket, taken in order.
function queue(socket) {
  const got = [];
  const waiting = [];
  socket.on('message', (data) => {
    const m = typeof data === 'string' ? data : Buffer.from(data);
    if (waiting.length) waiting.shift()(m);
    else got.push(m);
  });
  return () => (got.length ? Promise.resolve(got.shift())
                           : new Promise((resolve) => waiting.push(resolve)));
}

async function run(name, opts, want) {
  const socket = new Socket(url, opts);
  const next = queue(socket);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  assert.equal(await next(), 'hello', `${name}: the server's text`);
  assert.deepEqual(await next(), Buffer.from([1, 2, 3]),
                   `${name}: the server's bytes`);
  if (opts.upgrade) {
    if (socket.transport.name !== 'websocket')
      await new Promise((resolve) => socket.once('upgrade', resolve));
  }
  assert.equal(socket.transport.name, want, `${name}: the transport`);
  socket.send(`text from ${name} é`);
  assert.equal(await next(), `text from ${name} é`, `${name}: text echoed`);
  const bytes = Buffer.from([0, 255, 7, 128]);
  socket.send(bytes);
  assert.deepEqual(await next(), bytes, `${name}: bytes echoed`);
  const big = 'x'.repeat(100000);
  socket.send(big);
  assert.equal(await next(), big, `${name}: 100 kB echoed`);
  const closed = new Promise((resolve) =>
    socket.once('close', (reason) => resolve(reason)));
  socket.close();
  assert.equal(await closed, 'forced close', `${name}: closed`);
}

await run('polling', { transports: ['polling'], upgrade: false }, 'polling');
await run('websocket', { transports: ['websocket'] }, 'websocket');
await run('upgrade', { transports: ['polling', 'websocket'], upgrade: true },
          'websocket');
clearTimeout(timer);
console.log('ok');
process.exit(0);
