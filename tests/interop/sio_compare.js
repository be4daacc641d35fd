// sio_compare.js: the Node.js side of tests/interop/sio_compare.c, with
// socket.io-parser and engine.io-parser as socket.io-client 4.8 brings
// them (tests/interop/node_modules).
//
// Lines are fields separated by spaces, each byte string in hex:
//   S <text> [<frame>...]   a Socket.IO packet: its text and attachments
//   E <payload>             an Engine.IO polling payload
//
// "node sio_compare.js gen <seed> <n>" writes n random packets of each
// kind, encoded by the JavaScript encoders.
// "node sio_compare.js check" reads such lines on stdin, decodes each with
// the JavaScript decoders and encodes the result again, and writes per
// line "OK <same fields>" or "ERR <message>".
'use strict';

const readline = require('readline');
const sp = require('socket.io-parser');
const ep = require('engine.io-parser');

const hex = (b) => (b.length ? Buffer.from(b).toString('hex') : '-');
const unhex = (s) => (s === '-' ? Buffer.alloc(0) : Buffer.from(s, 'hex'));
const utf8 = (s) => Buffer.from(s, 'utf8');

// ---- random values (xorshift, so every run is the same) ----------------
let rng = 1n;
function seed(s) {
  rng = BigInt(s) | 1n;
}
function next() {
  rng ^= (rng << 13n) & 0xffffffffffffffffn;
  rng ^= rng >> 7n;
  rng ^= (rng << 17n) & 0xffffffffffffffffn;
  return rng;
}
const rnd = (n) => Number(next() % BigInt(n));

function randString() {
  const pools = [
    'abc', 'xyz_-', ' ', '"\\/', '\n\t\r\b\f', '\u0001\u001f\u007f',
    'é€', '\u2028\u2029', '🎉', '0123',
  ];
  let s = '';
  for (let i = rnd(8); i > 0; i--) {
    const p = [...pools[rnd(pools.length)]];
    s += p[rnd(p.length)];
  }
  return s;
}
function randKey() {
  const k = ['a', 'b', 'name', '1', '2', '10', '01', '_x', 'é', ''];
  return rnd(3) ? k[rnd(k.length)] : randString();
}
function randNumber() {
  switch (rnd(4)) {
    case 0: return rnd(1000) - 500;
    case 1: return (rnd(2) ? -1 : 1) * rnd(1 << 30) / (1 + rnd(1000));
    case 2: {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(next());
      const d = b.readDoubleLE(0);
      return Number.isFinite(d) ? d : 0.5;
    }
    default: return [0, -0, 1e21, 1e-7, 123e-20, 2 ** 53, 5e-324][rnd(7)];
  }
}
function randValue(depth, bins) {
  const r = rnd(depth > 3 ? 6 : 9);
  if (r === 0) return null;
  if (r === 1) return rnd(2) === 0;
  if (r === 2 || r === 3) return randNumber();
  if (r === 4 || r === 5) return randString();
  if (r === 6 && bins) {
    const b = Buffer.alloc(rnd(6));
    for (let i = 0; i < b.length; i++) b[i] = rnd(256);
    return b;
  }
  if (r === 7) {
    const a = [];
    for (let i = rnd(4); i > 0; i--) a.push(randValue(depth + 1, bins));
    return a;
  }
  const o = {};
  for (let i = rnd(4); i > 0; i--) o[randKey()] = randValue(depth + 1, bins);
  return o;
}
function randPacket() {
  const type = [0, 0, 1, 2, 2, 2, 3, 3, 4][rnd(9)];
  const nsp = rnd(2) ? '/' : '/' + ['admin', 'chat/room', 'a-b'][rnd(3)];
  const p = { type, nsp };
  if ((type === 2 || type === 3) && rnd(2)) p.id = rnd(2) ? rnd(100) : 2 ** 53 - 1;
  const bins = rnd(2) === 0;
  const args = () => {
    const a = [];
    for (let i = rnd(4); i > 0; i--) a.push(randValue(1, bins));
    return a;
  };
  if (type === 0 && rnd(2)) p.data = { token: randString(), n: randNumber() };
  if (type === 2) p.data = [rnd(5) ? randString() || 'e' : rnd(9), ...args()];
  if (type === 3) p.data = args();
  if (type === 4) p.data = rnd(2) ? randString() : { message: randString() };
  // reserved names are not sent by a client
  if (type === 2 && ['connect', 'disconnect'].includes(p.data[0])) p.data[0] = 'x';
  return p;
}
function randEioPacket() {
  const type = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'][rnd(7)];
  if (type === 'message' && rnd(2)) {
    const b = Buffer.alloc(rnd(12));
    for (let i = 0; i < b.length; i++) b[i] = rnd(256);
    return { type, data: b };
  }
  return rnd(2) ? { type, data: randString() } : { type };
}

// ---- the two modes -------------------------------------------------------
function encodeSio(p) {
  const parts = new sp.Encoder().encode(p);
  return ['S', hex(utf8(parts[0])), ...parts.slice(1).map(hex)].join(' ');
}
function encodeEio(packets) {
  let out;
  ep.encodePayload(packets, (s) => { out = s; });
  return 'E ' + hex(utf8(out));
}

function gen(s, n) {
  seed(s);
  const out = [];
  for (let i = 0; i < n; i++) out.push(encodeSio(randPacket()));
  for (let i = 0; i < n; i++) {
    const pk = [];
    for (let j = 1 + rnd(4); j > 0; j--) pk.push(randEioPacket());
    out.push(encodeEio(pk));
  }
  process.stdout.write(out.join('\n') + '\n');
}

function checkSio(fields) {
  const d = new sp.Decoder();
  let got = null;
  d.on('decoded', (p) => { got = p; });
  d.add(unhex(fields[0]).toString('utf8'));
  for (const f of fields.slice(1)) d.add(unhex(f));
  if (!got) throw new Error('no packet decoded');
  return encodeSio(got).slice(2);
}
function checkEio(fields) {
  const packets = ep.decodePayload(unhex(fields[0]).toString('utf8'), 'nodebuffer');
  if (packets.some((p) => p.type === 'error')) throw new Error('parser error');
  return encodeEio(packets).slice(2);
}

function check() {
  const rl = readline.createInterface({ input: process.stdin });
  const out = [];
  rl.on('line', (line) => {
    if (!line) return;
    const [kind, ...fields] = line.split(' ');
    try {
      out.push('OK ' + (kind === 'S' ? checkSio(fields) : checkEio(fields)));
    } catch (e) {
      out.push('ERR ' + String(e && e.message).replace(/\s+/g, ' '));
    }
  });
  rl.on('close', () => process.stdout.write(out.join('\n') + '\n'));
}

if (process.argv[2] === 'gen') gen(Number(process.argv[3]), Number(process.argv[4]));
else check();
