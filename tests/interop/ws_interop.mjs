// ws_interop.mjs: Node's `ws` client (8.18, from package-lock.json)
// against roster's httpd module (ws_interop.c starts the server and runs
// this with its URL). Prints "ok" and exits 0 when every check passes.
import assert from 'node:assert/strict';
import WebSocket from 'ws';

const url = process.argv[2];

function open(u) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(u);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

// next resolves with the next message (data, isBinary).
function next(ws) {
  return new Promise((resolve) =>
    ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
}

function closed(ws) {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

const ws = await open(url);
assert.equal(ws.extensions, '', 'no extension is negotiated');

// Text, binary, empty, and large messages come back as they went.
const cases = [
  ['hello', false],
  [Buffer.from([0, 1, 2, 255]), true],
  ['', false],
  ['κόσμε ✓', false],
  ['x'.repeat(100000), false],
  [Buffer.alloc(70000, 7), true],
];
for (const [msg, binary] of cases) {
  const p = next(ws);
  ws.send(msg, { binary });
  const { data, isBinary } = await p;
  assert.equal(isBinary, binary);
  assert.deepEqual(Buffer.from(data), Buffer.from(msg));
}

// A message sent in fragments arrives whole.
{
  const p = next(ws);
  ws.send('frag', { fin: false });
  ws.send('ment', { fin: false });
  ws.send('ed', { fin: true });
  assert.equal((await p).data.toString(), 'fragmented');
}

// Ping: the pong carries the same payload.
{
  const p = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('are you there');
  assert.equal((await p).toString(), 'are you there');
}

// The server closes with its code and reason.
{
  const p = closed(ws);
  ws.send('close-me');
  const { code, reason } = await p;
  assert.equal(code, 4001);
  assert.equal(reason, 'bye');
}

// The client closes: the server sees its code (ws_interop.c checks).
{
  const ws2 = await open(url);
  const p = closed(ws2);
  ws2.close(4002, 'client bye');
  assert.equal((await p).code, 4002);
}

// A refused upgrade: an Origin that is not the server's.
await assert.rejects(new Promise((resolve, reject) => {
  const bad = new WebSocket(url, { origin: 'http://evil.example' });
  bad.once('open', resolve);
  bad.once('error', reject);
}), /403/);

console.log('ok');
