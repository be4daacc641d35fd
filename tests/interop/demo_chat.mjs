// demo_chat.mjs: the stock socket.io-client against roster-demo's chat
// (examples/demo/demo_chat.c). Three clients: A and C in "lobby", B in
// "games". Checks that a message said in lobby reaches A and C and not B,
// that a later join's history (read through the demo's cache) holds it,
// that the cron job's summary reaches lobby and not games, and that a
// message into a room the socket is not in is refused.
// Usage: node demo_chat.mjs http://127.0.0.1:PORT   (exit 0: all passed)
import { io } from 'socket.io-client';

const url = process.argv[2];
const fail = (msg) => { console.error('demo_chat: FAIL: ' + msg); process.exit(1); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const timeout = (p, ms, what) => Promise.race([p, sleep(ms).then(() => fail('timeout: ' + what))]);

function client(name) {
  const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  s.got = { said: [], summary: [] };
  s.on('said', (m) => s.got.said.push(m));
  s.on('summary', (m) => s.got.summary.push(m));
  return timeout(new Promise((res, rej) => { s.once('connect', () => res(s)); s.once('connect_error', rej); }),
                 10000, name + ' connect');
}
const ask = (s, ev, data) => timeout(s.emitWithAck(ev, data), 10000, ev);

const a = await client('A'), b = await client('B');
const ja = await ask(a, 'join', { room: 'lobby' });
if (ja.room !== 'lobby' || !Array.isArray(ja.history)) fail('join answer ' + JSON.stringify(ja));
await ask(b, 'join', { room: 'games' });
const text = 'hello from A ' + process.pid;
const r = await ask(a, 'say', { room: 'lobby', who: 'A', text });
if (!r.ok) fail('say refused');
const refused = await ask(b, 'say', { room: 'lobby', who: 'B', text: 'not in lobby' });
if (refused.ok) fail('a say into a room the socket is not in was accepted');
// the summary job runs every 2 s: wait for A's
for (let i = 0; i < 60 && a.got.summary.length === 0; i++) await sleep(100);
if (a.got.said.length !== 1 || a.got.said[0].text !== text || a.got.said[0].who !== 'A')
  fail('A got ' + JSON.stringify(a.got.said));
if (b.got.said.length !== 0) fail('B (games) got lobby messages: ' + JSON.stringify(b.got.said));
if (a.got.summary.length === 0) fail('no summary reached lobby');
if (b.got.summary.length !== 0) fail('a summary reached games');
if (!(a.got.summary[0].messages >= 1)) fail('summary ' + JSON.stringify(a.got.summary[0]));
// a later client sees the message in the room's history (through the cache)
const c = await client('C');
const jc = await ask(c, 'join', { room: 'lobby' });
if (!jc.history.some((m) => m.text === text && m.who === 'A'))
  fail('history lacks the message: ' + JSON.stringify(jc.history));
for (const s of [a, b, c]) s.close();
console.log(`demo_chat: ok (${a.got.summary.length} summaries to lobby, 0 to games)`);
process.exit(0);
