// sio_interop.mjs: the real socket.io-client (4.8.1, package-lock.json)
// against roster's Socket.IO server (sio_interop.c starts it and runs this
// with its URL). Over polling only, WebSocket only, and polling then
// upgrade: the auth object, namespaces, refusals (middleware, unknown
// namespace), events and acks both ways (one server -> client ack left to
// time out), binary with nested Buffers both ways, rooms and broadcasts
// (counted per client), disconnect reasons, the heartbeat, emits from
// another thread. Then a restart of the server on the same port (a
// WebSocket and a polling client connect again) and 1,000 WebSocket
// clients receiving one broadcast. Exits 1 at the first failed check,
// naming it; prints a summary and exits 0 when all pass.
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { io, Manager } from 'socket.io-client';

const url = process.argv[2];
const MANY = 1000;
let checks = 0;
let me, got; // of the last section
let section = 'start';
const done = [];

function fail(msg) {
  console.error(`sio_interop: FAILED in "${section}": ${msg}`);
  console.error(`sio_interop: ${checks} checks passed before; sections ` +
                `done: ${done.join(', ') || 'none'}`);
  process.exit(1);
}

// eq: a check that actual deep-equals expected (Buffers by content).
function eq(actual, expected, what) {
  try {
    assert.deepStrictEqual(actual, expected);
  } catch {
    fail(`${what}: got ${inspect(actual, { depth: 6 })}, want ` +
         `${inspect(expected, { depth: 6 })}`);
  }
  checks++;
}

function ok(cond, what) {
  if (!cond) fail(what);
  checks++;
}

let sectionStart = Date.now();
function begin(name) {
  if (section !== 'start')
    done.push(`${section} ${Date.now() - sectionStart} ms`);
  section = name;
  sectionStart = Date.now();
}

const timer = setTimeout(() => fail('timed out (55 s in all)'), 55000);

function within(promise, ms, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: nothing in ${ms} ms`)),
                     ms);
    }),
  ]).finally(() => clearTimeout(t));
}

// norm: every binary value as a Buffer, so deepStrictEqual compares bytes.
function norm(v) {
  if (v instanceof ArrayBuffer) return Buffer.from(new Uint8Array(v));
  if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset,
                                                 v.byteLength);
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = norm(x);
    return o;
  }
  return v;
}

// track: counts every event a socket gets, keeps the last arguments.
function track(s) {
  s.counts = new Map();
  s.last = new Map();
  s.onAny((ev, ...args) => {
    s.counts.set(ev, (s.counts.get(ev) ?? 0) + 1);
    s.last.set(ev, norm(args));
  });
  return s;
}

function client(path, opts) {
  return track(io(url + path, { forceNew: true, reconnection: false,
                                ...opts }));
}

// next: the arguments of the next event ev on s (listen before causing it).
function next(s, ev, ms = 5000) {
  return within(new Promise((resolve) => s.once(ev, (...a) => resolve(a))),
                ms, `event "${ev}"`).catch((e) => fail(e.message));
}

function connected(s, ms = 5000) {
  if (s.connected) return Promise.resolve(s);
  return within(new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(new Error(
        `connect_error "${e.message}"`)));
  }), ms, 'connect').catch((e) => fail(e.message));
}

// call: emit with an ack; resolves with every argument of the answer.
function call(s, ev, ...args) {
  return new Promise((resolve) => {
    s.timeout(5000).emit(ev, ...args, (err, ...answer) => {
      if (err) fail(`no answer to "${ev}" in 5 s`);
      resolve(norm(answer));
    });
  });
}

async function whoami(s) {
  return (await call(s, 'whoami'))[0];
}

// settle: asks s's server for its stats until pred holds (2 s at most).
async function settle(s, pred) {
  const end = Date.now() + 2000;
  let me = await whoami(s);
  while (!pred(me.stats) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    me = await whoami(s);
  }
  return me;
}

const range = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

async function transportCase(name, opts, want) {
  begin(`${name}: refusals`);
  const bad = client('/', { ...opts, auth: { token: 'wrong' } });
  let [err] = await next(bad, 'connect_error');
  eq(err.message, 'bad token', 'the middleware of / refuses a wrong token');
  eq(bad.connected, false, 'the refused socket is not connected');
  bad.close();
  const badAdmin = client('/admin', { ...opts, auth: { token: 'secret' } });
  [err] = await next(badAdmin, 'connect_error');
  eq(err.message, 'admin only', 'the middleware of /admin refuses');
  badAdmin.close();
  const nope = client('/nope', { ...opts, auth: { token: 'secret' } });
  [err] = await next(nope, 'connect_error');
  eq(err.message, 'Invalid namespace', 'an unknown namespace');
  nope.close();

  begin(`${name}: namespaces`);
  const mgr = new Manager(url, { ...opts, reconnection: false });
  const a = track(mgr.socket('/', { auth: { token: 'secret', who: 'A',
                                            n: 5, deep: { x: [1.5] } } }));
  const aw = next(a, 'welcome');
  await connected(a);
  const [wa] = await aw;
  eq(wa, { id: a.id, nsp: '/', transport: opts.transports[0],
           auth: { token: 'secret', who: 'A', n: 5, deep: { x: [1.5] } } },
     'the welcome: id, namespace, transport, auth as the server saw them');
  const adm = track(mgr.socket('/admin', { auth: { token: 'admin-secret' } }));
  const admw = next(adm, 'welcome');
  await connected(adm);
  eq((await admw)[0].nsp, '/admin', 'the /admin socket is in /admin');
  ok(adm.id !== a.id, 'a socket id per namespace');
  if (want !== opts.transports[0] && mgr.engine.transport.name !== want)
    await within(new Promise((r) => mgr.engine.once('upgrade', r)), 5000,
                 'the upgrade').catch((e) => fail(e.message));
  eq(mgr.engine.transport.name, want, 'the transport');
  me = await settle(a, (st) => st.sockets === 2);
  eq([me.id, me.nsp, me.transport, me.gen], [a.id, '/', want, 0],
     'the server sees this socket on this transport');
  eq(me.stats.sockets, 2, 'sockets in the stats: A and admin');

  begin(`${name}: events`);
  eq(await call(a, 'echo', 'hé', 1, { k: [true, null], n: 2.5 }),
     ['hé', 1, { k: [true, null], n: 2.5 }], 'echo answered by an ack');
  got = next(a, 'echo');
  a.emit('echo', 'x', [2]);
  eq(await got, ['x', [2]], 'echo without an ack, back as an event');
  eq(await call(adm, 'echo', 'admin'), ['admin'], 'echo in /admin');
  const odd = ['😀 ü \u2028 "q" \\', 'a\u0000b', '', 0, -1.25, 1e21, 2 ** 53,
               true, false, null, [], {}, { 0: 'x', b: 'y', 1: 'z' }];
  eq(await call(a, 'echo', ...odd), odd, 'echo of odd values (13 arguments)');
  const big = 'é'.repeat(200000);
  eq(await call(a, 'echo', big), [big], 'echo of 400 kB of text');
  got = next(a, 'threaded');
  eq(await call(a, 'from-thread'), [true],
     'an ack and a join from another thread');
  eq(await got, [a.id], 'an emit from another thread');
  eq(a.counts.get('threaded'), 1, 'that emit came once');
  // The heartbeat: idle past pingInterval + pingTimeout, still connected.
  const pings = [];
  mgr.engine.on('ping', () => pings.push(Date.now()));
  await new Promise((r) => setTimeout(r, 2200));
  ok(pings.length >= 1, `the server pinged while idle (${pings.length})`);
  ok(a.connected && adm.connected, 'still connected after 2.2 s idle');
  eq((await whoami(a)).id, a.id, 'the same socket after the idle time');

  begin(`${name}: binary`);
  const nested = { a: Buffer.from([1, 2, 3]),
                   b: [range, { c: Buffer.from('é') }], d: 'text' };
  eq(await call(a, 'echo', nested, Buffer.from([42])),
     [nested, Buffer.from([42])], 'nested Buffers echoed by an ack');
  got = next(a, 'echo');
  a.emit('echo', { deep: [[[Buffer.from([7])]]] });
  eq(norm(await got), [{ deep: [[[Buffer.from([7])]]] }],
     'a Buffer three arrays deep echoed as an event');
  eq(await call(a, 'echo', Buffer.alloc(0)), [Buffer.alloc(0)],
     'an empty Buffer echoed');
  const blob = Buffer.alloc(300000, 0xa5);
  eq(await call(a, 'echo', blob, 'x', blob), [blob, 'x', blob],
     '300 kB of bytes echoed, twice in one packet');
  got = next(a, 'bin');
  a.emit('binary');
  eq(norm(await got), [{ x: range, y: [Buffer.from([0xde, 0xad, 0xbe, 0xef]),
                                       { z: range }], n: 2 }],
     'nested Buffers from the server, one named twice');

  begin(`${name}: too large`);
  const o = client('/', { ...opts, auth: { token: 'secret', who: 'O' } });
  await connected(o);
  got = next(o, 'disconnect');
  o.emit('echo', 'x'.repeat(1100000));
  const [why] = await got;
  ok(['transport close', 'transport error'].includes(why),
     `a message over maxPayload (1e6) ends that connection ("${why}")`);
  o.close();
  eq(await call(a, 'echo', 'still'), ['still'], 'the others are still served');

  begin(`${name}: acks from the server`);
  a.on('question', (d, cb) => cb({ got: d, buf: Buffer.from([9, 8, 7]) }));
  got = next(a, 'answer');
  a.emit('ask', { event: 'question', timeout: 3000, data: 'q1' });
  eq(norm(await got), [{ rc: 'ok', args: [{ got: 'q1',
                                            buf: Buffer.from([9, 8, 7]) }] }],
     'the server got the answer to its ack, with a Buffer');
  let silent = null;
  a.on('silent', (d, cb) => { silent = [d, typeof cb]; });
  const t0 = Date.now();
  got = next(a, 'answer');
  a.emit('ask', { event: 'silent', timeout: 300, data: 'q2' });
  eq(await got, [{ rc: 'timeout', args: null }],
     'an ack the client never answers times out on the server');
  eq(silent, ['q2', 'function'], 'the client was asked for an ack');
  ok(Date.now() - t0 >= 250, `the ack timed out after ${Date.now() - t0} ms ` +
     '(300 asked)');

  begin(`${name}: rooms`);
  const b = client('/', { ...opts, auth: { token: 'secret', who: 'B' } });
  const c = client('/', { ...opts, auth: { token: 'secret', who: 'C' } });
  await Promise.all([connected(b), connected(c)]);
  eq(await call(a, 'join', 'red'), [true], 'A joins red');
  eq(await call(b, 'join', 'red'), [true], 'B joins red');
  eq(await call(b, 'join', 'blue'), [true], 'B joins blue');
  eq(await call(c, 'join', 'blue'), [true], 'C joins blue');
  eq(await call(c, 'join', 'blue'), [true], 'C joins blue again');
  me = await whoami(a);
  eq([me.stats.sockets, me.stats.rooms], [4, 2],
     'sockets (A, B, C, admin) and rooms (red, blue) in the stats');
  const all = { A: a, B: b, C: c, admin: adm };
  const bcast = async (spec, want, what) => {
    const [r] = await call(a, 'broadcast', { data: what, ...spec });
    // Each client's answer comes after what was queued for it before.
    await Promise.all(Object.values(all).map((s) => call(s, 'echo', 0)));
    const n = {};
    for (const [k, s] of Object.entries(all))
      n[k] = s.counts.get(spec.event) ?? 0;
    eq(n, want, `${what}: who received it`);
    eq(r.sent, Object.values(want).reduce((x, y) => x + y),
       `${what}: the sockets the server counted`);
    for (const [k, s] of Object.entries(all))
      if (want[k]) eq(s.last.get(spec.event), [what], `${what}: the data`);
    return r;
  };
  await bcast({ event: 'r1', rooms: ['red'] },
              { A: 1, B: 1, C: 0, admin: 0 }, 'to red');
  await bcast({ event: 'r2', rooms: ['red', 'blue'] },
              { A: 1, B: 1, C: 1, admin: 0 }, 'to red and blue (B once)');
  await bcast({ event: 'r3', except: ['blue'] },
              { A: 1, B: 0, C: 0, admin: 0 }, 'to all but blue');
  await bcast({ event: 'r4' }, { A: 1, B: 1, C: 1, admin: 0 }, 'to all of /');
  await bcast({ event: 'r5', nsp: '/admin' },
              { A: 0, B: 0, C: 0, admin: 1 }, 'to all of /admin');
  await bcast({ event: 'r6', rooms: ['blue'], except: ['red'] },
              { A: 0, B: 0, C: 1, admin: 0 }, 'to blue but red');
  await bcast({ event: 'r7', rooms: [b.id] },
              { A: 0, B: 1, C: 0, admin: 0 }, "to B's own room");
  // Volatile: a connection may drop it (polling between two GETs); what
  // the server counted as sent arrives, the rest is counted dropped.
  const before = (await whoami(a)).stats.dropped;
  const [v] = await call(a, 'broadcast',
                         { event: 'r8', rooms: ['red'], volatile: true,
                           data: 'volatile' });
  await Promise.all(Object.values(all).map((s) => call(s, 'echo', 0)));
  const vgot = [a, b].map((s) => s.counts.get('r8') ?? 0);
  eq(vgot[0] + vgot[1], v.sent, 'volatile: received as many as sent');
  ok(vgot.every((n) => n <= 1), 'volatile: once at most');
  eq((await whoami(a)).stats.dropped - before, 2 - v.sent,
     'volatile: the rest counted dropped');
  if (want === 'websocket') eq(vgot, [1, 1], 'volatile over WebSocket');
  eq(c.counts.get('r8') ?? 0, 0, 'volatile: not to C');
  eq(await call(b, 'leave', 'red'), [false], 'B leaves red');
  eq(await call(b, 'leave', 'red'), [false], 'B leaves red again');
  await bcast({ event: 'r9', rooms: ['red'] },
              { A: 1, B: 0, C: 0, admin: 0 }, 'to red after B left');
  eq(await call(a, 'leave', 'red'), [false], 'A leaves red');
  eq((await whoami(a)).stats.rooms, 1, 'rooms in the stats: blue');

  begin(`${name}: disconnects`);
  got = next(c, 'disconnect');
  c.emit('kick');
  eq((await got)[0], 'io server disconnect', 'C disconnected by the server');
  ok(!c.connected, 'C is not connected');
  got = next(b, 'disconnect');
  b.disconnect();
  eq((await got)[0], 'io client disconnect', 'B disconnects');
  a.emit('nobody', 1);
  eq(await call(a, 'echo', 1), [1], 'A still served');
  me = await settle(a, (st) => st.sockets === 2 && st.rooms === 0);
  eq([me.stats.sockets, me.stats.rooms], [2, 0],
     'the stats after B and C left: A and admin, no room');
  // A server-side disconnect that closes the whole connection: each
  // namespace of it is told (socket.io's Socket#disconnect(true)).
  const m2 = new Manager(url, { ...opts, reconnectionDelay: 50,
                                reconnectionDelayMax: 100 });
  const x = track(m2.socket('/', { auth: { token: 'secret', who: 'X' } }));
  const y = track(m2.socket('/admin', { auth: { token: 'admin-secret' } }));
  await Promise.all([connected(x), connected(y)]);
  const xr = next(x, 'disconnect');
  const yr = next(y, 'disconnect');
  x.emit('kick-all');
  eq([(await xr)[0], (await yr)[0]],
     ['io server disconnect', 'io server disconnect'],
     'a kick closing the connection: both namespaces told by the server');
  await new Promise((r) => setTimeout(r, 300));
  ok(!x.connected && !y.connected, 'neither reconnects on its own');
  x.close();
  y.close();
  got = next(adm, 'disconnect');
  adm.disconnect();
  eq((await got)[0], 'io client disconnect', 'admin disconnects');
  got = next(a, 'disconnect');
  a.disconnect();
  eq((await got)[0], 'io client disconnect', 'A disconnects');
  await within(new Promise((r) => mgr.engine.once('close', r)), 5000,
               'the connection closes').catch((e) => fail(e.message));
}

await transportCase('polling', { transports: ['polling'], upgrade: false },
                    'polling');
await transportCase('websocket', { transports: ['websocket'] }, 'websocket');
await transportCase('upgrade', { transports: ['polling', 'websocket'],
                                 upgrade: true }, 'websocket');

begin('restart');
const r = track(io(url, { forceNew: true, reconnectionDelay: 100,
                          reconnectionDelayMax: 200,
                          auth: { token: 'secret', who: 'R' } }));
// P: polling only, idle (its GET held) when the server stops.
const p = track(io(url, { forceNew: true, reconnectionDelay: 100,
                          reconnectionDelayMax: 200, transports: ['polling'],
                          auth: { token: 'secret', who: 'P' } }));
let welcome = next(r, 'welcome');
let pwelcome = next(p, 'welcome');
await Promise.all([connected(r), connected(p)]);
const [w1] = await welcome;
await pwelcome;
eq((await settle(r, (st) => st.sockets === 2)).stats.sockets, 2,
   'R and P before the restart');
eq((await whoami(r)).gen, 0, 'the first server');
const closed = [next(r, 'disconnect'), next(p, 'disconnect')];
welcome = next(r, 'welcome', 15000);
pwelcome = next(p, 'welcome', 15000);
r.emit('restart');
// roster's stop sends DISCONNECT (its header): the client does not
// reconnect on its own after "io server disconnect", so it is asked to.
eq([(await closed[0])[0], (await closed[1])[0]],
   ['io server disconnect', 'io server disconnect'],
   'the reasons of a server stop (WebSocket, polling)');
r.connect();
p.connect();
const [w2] = await welcome;
await pwelcome;
ok(w2.id !== w1.id && r.id === w2.id, 'a new socket id after the restart');
me = await whoami(r);
eq([me.gen, me.stats.sockets_total, me.stats.sockets], [1, 2, 2],
   'the new server counts R and P alone');
eq(await call(r, 'echo', 'again'), ['again'], 'echo after the restart');
eq(await call(p, 'echo', 'again'), ['again'], 'echo after the restart (P)');
got = next(p, 'disconnect');
p.disconnect();
eq((await got)[0], 'io client disconnect', 'P disconnects');

begin(`${MANY} clients`);
const t1 = Date.now();
const many = [];
const welcomes = [];
for (let i = 0; i < MANY; i++) {
  const s = client('/', { transports: ['websocket'],
                          auth: { token: 'secret', room: 'many' } });
  welcomes.push(next(s, 'welcome', 30000));
  many.push(s);
}
await Promise.all(welcomes);
const tConnect = Date.now() - t1;
me = await whoami(r);
eq([me.stats.sockets, me.stats.rooms], [MANY + 1, 1],
   `sockets (${MANY} and R) and rooms ("many") in the stats`);
const [res] = await call(r, 'broadcast', { event: 'many', rooms: ['many'],
                                           data: 'to many' });
eq(res.sent, MANY, `the broadcast was queued for ${MANY}`);
await Promise.all(many.map((s) => call(s, 'echo', 0)));
eq(many.filter((s) => s.counts.get('many') !== 1).length, 0,
   'clients that did not get the broadcast exactly once');
eq(many[MANY - 1].last.get('many'), ['to many'], 'the data');
eq(r.counts.get('many') ?? 0, 0, 'R, not in the room, got nothing');
const reasons = new Map();
await Promise.all(many.map((s) => {
  const d = next(s, 'disconnect').then(([why]) =>
    reasons.set(why, (reasons.get(why) ?? 0) + 1));
  s.disconnect();
  return d;
}));
eq([...reasons], [['io client disconnect', MANY]], 'the reasons');
me = await settle(r, (st) => st.sockets === 1);
eq([me.stats.sockets, me.stats.rooms], [1, 0], 'only R left, no room');
const engine = r.io.engine;
got = next(r, 'disconnect');
r.disconnect();
eq((await got)[0], 'io client disconnect', 'R disconnects');
await within(new Promise((res2) => engine.once('close', res2)), 5000,
             "R's connection closes").catch((e) => fail(e.message));
begin('end');
clearTimeout(timer);
console.log(`sio_interop: ${checks} checks passed (${done.join('; ')}); ` +
            `${MANY} clients connected in ${tConnect} ms`);
process.exit(0);
