// sio_redis_interop.mjs: Socket.IO across nodes, roster and Node together
// (sio_redis_interop.c starts two roster servers, A and B, each with its
// Redis adapter, and runs this with their URLs, the Redis URL and the
// channel key). socket.io-client 4.8 on each roster server: rooms and
// broadcasts across the nodes (except included), binary, the cluster's
// rooms and sockets; @socket.io/redis-emitter 5.1 into roster's servers
// (rooms, except, binary, socketsJoin); a Node socket.io 4.8 server with
// @socket.io/redis-adapter 8.3 as a third node (roster's broadcasts reach
// its client, its broadcasts reach roster's clients, its allRooms() and
// fetchSockets() see roster's, serverSideEmit goes both ways). Exits 1 at the first failed check, naming
// it; prints a summary and exits 0 when all pass.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { inspect } from 'node:util';
import { io } from 'socket.io-client';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { Emitter } from '@socket.io/redis-emitter';
import { createClient } from 'redis';

const [ua, ub, redisUrl, key] = process.argv.slice(2);
let checks = 0;
let section = 'start';

function fail(msg) {
  console.error(`sio_redis_interop: FAILED in "${section}": ${msg}`);
  console.error(`sio_redis_interop: ${checks} checks passed before`);
  process.exit(1);
}

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

// A client whose events queue up; next() takes the next one.
function client(url, name) {
  const s = io(url, { transports: ['websocket'], forceNew: true,
                      reconnection: false });
  s.name = name;
  s.queue = [];
  s.waiters = [];
  s.onAny((...args) => {
    const a = args.map((x) => (x instanceof ArrayBuffer ? Buffer.from(x) : x));
    if (s.waiters.length) s.waiters.shift()(a);
    else s.queue.push(a);
  });
  return s;
}

function next(s, ms = 5000) {
  if (s.queue.length) return Promise.resolve(s.queue.shift());
  return new Promise((resolve) => {
    const t = setTimeout(() => fail(`${s.name}: no event in ${ms} ms`), ms);
    s.waiters.push((a) => { clearTimeout(t); resolve(a); });
  });
}

function connected(s) {
  if (s.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => fail(`${s.name}: no connection`), 5000);
    s.once('connect', () => { clearTimeout(t); resolve(); });
    s.once('connect_error', (e) => fail(`${s.name}: ${e.message}`));
  });
}

const ack = (s, ...args) => s.timeout(10000).emitWithAck(...args);
const sorted = (a) => [...a].map(String).sort();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const ca = client(ua, 'ca'), cb = client(ub, 'cb'), cb2 = client(ub, 'cb2');
  await Promise.all([connected(ca), connected(cb), connected(cb2)]);

  section = 'rooms across';
  eq(await ack(ca, 'join', 'room1'), 'A', 'ca joins on A');
  eq(await ack(cb, 'join', 'room1', 'x'), 'B', 'cb joins on B');
  await ack(ca, 'shout', { rooms: ['room1'], event: 'msg', args: ['a2b'] });
  eq(await next(ca), ['msg', 'a2b'], 'ca (local)');
  eq(await next(cb), ['msg', 'a2b'], 'cb (from A through Redis)');
  await ack(cb, 'shout', { rooms: ['room1'], except: ['x'], event: 'msg',
                           args: ['exc'] });
  eq(await next(ca), ['msg', 'exc'], 'ca (from B, except x)');
  await ack(ca, 'shout', { event: 'msg', args: ['all', 7] });
  eq(await next(cb), ['msg', 'all', 7], 'cb: "exc" left it out');
  eq(await next(cb2), ['msg', 'all', 7], 'cb2: in no room, got all only');
  eq(await next(ca), ['msg', 'all', 7], 'ca: all');
  await ack(ca, 'shout', { rooms: ['room1'], event: 'bin',
                           args: [{ f: Buffer.from([1, 2, 3]) }] });
  eq(await next(cb), ['bin', { f: Buffer.from([1, 2, 3]) }], 'binary A->B');
  eq(await next(ca), ['bin', { f: Buffer.from([1, 2, 3]) }], 'binary local');

  section = 'counts';
  let c = await ack(ca, 'counts', '');
  eq(sorted(c.sockets), sorted([ca.id, cb.id, cb2.id]), 'sockets of both');
  for (const r of ['room1', 'x', ca.id, cb.id, cb2.id])
    ok(c.rooms.includes(r), `rooms of both hold ${r}: ${c.rooms}`);
  c = await ack(cb2, 'counts', 'room1');
  eq(sorted(c.sockets), sorted([ca.id, cb.id]), 'sockets in room1');

  section = 'emitter';
  const rc = createClient({ url: redisUrl });
  rc.on('error', () => {});
  await rc.connect();
  const em = new Emitter(rc, { key });
  em.to('room1').except('x').emit('em', 1, 'two', Buffer.from([7, 8]));
  eq(await next(ca), ['em', 1, 'two', Buffer.from([7, 8])], 'emitter -> ca');
  em.emit('em', 'all');
  eq(await next(ca), ['em', 'all'], 'emitter all -> ca');
  eq(await next(cb), ['em', 'all'], 'emitter: except x left cb out');
  eq(await next(cb2), ['em', 'all'], 'emitter all -> cb2');
  em.volatile.to('room1').emit('vol', true);
  eq(await next(ca), ['vol', true], 'volatile -> ca');
  eq(await next(cb), ['vol', true], 'volatile -> cb');
  em.in(cb2.id).socketsJoin('late');
  await sleep(200);
  em.to('late').emit('late', 3);
  eq(await next(cb2), ['late', 3], 'socketsJoin then a room emit');

  section = 'node server';
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const http = createServer();
  const srv = new Server(http, {
    adapter: createAdapter(pub, sub, { key, requestsTimeout: 5000 }),
  });
  srv.on('connection', (s) => s.join('room1'));
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const reqChan = `${key}-request#/#`;
  for (let i = 0; i < 100; i++) {
    const n = (await rc.pubSubNumSub(reqChan))[reqChan];
    if (n === 3) break;
    await sleep(50);
  }
  eq((await rc.pubSubNumSub(reqChan))[reqChan], 3, 'three nodes subscribed');
  const cn = client(`http://127.0.0.1:${http.address().port}`, 'cn');
  await connected(cn);
  await sleep(100); // the join of the connection handler
  await ack(ca, 'shout', { rooms: ['room1'], event: 'toNode',
                           args: ['hello', Buffer.from([5])] });
  eq(await next(cn), ['toNode', 'hello', Buffer.from([5])], 'roster -> Node');
  eq(await next(ca), ['toNode', 'hello', Buffer.from([5])], 'ca local');
  eq(await next(cb), ['toNode', 'hello', Buffer.from([5])], 'cb');
  srv.to('room1').emit('fromNode', 'n', Buffer.from([6]));
  eq(await next(ca), ['fromNode', 'n', Buffer.from([6])], 'Node -> ca');
  eq(await next(cb), ['fromNode', 'n', Buffer.from([6])], 'Node -> cb');
  eq(await next(cn), ['fromNode', 'n', Buffer.from([6])], 'Node -> cn');
  srv.except('x').emit('fromNode2', { k: [1, null, 'z'] });
  eq(await next(cb2), ['fromNode2', { k: [1, null, 'z'] }], 'Node -> cb2');
  eq(await next(ca), ['fromNode2', { k: [1, null, 'z'] }], 'Node -> ca');
  srv.emit('fromNode3');
  eq(await next(cb), ['fromNode3'], 'Node except x left cb out');

  const rooms = await srv.of('/').adapter.allRooms();
  for (const r of ['room1', 'x', 'late', ca.id, cb.id, cb2.id, cn.id])
    ok(rooms.has(r), `Node's allRooms() holds ${r}`);
  const socks = await srv.fetchSockets();
  eq(sorted(socks.map((s) => s.id)), sorted([ca.id, cb.id, cb2.id, cn.id]),
     "Node's fetchSockets()");
  const rca = socks.find((s) => s.id === ca.id);
  ok(rca && rca.rooms.has('room1') && rca.rooms.has(ca.id),
     `ca's rooms from roster: ${rca && [...rca.rooms]}`);
  c = await ack(cb, 'counts', 'room1');
  eq(sorted(c.sockets), sorted([ca.id, cb.id, cn.id]), 'room1 on 3 nodes');
  ok(c.rooms.includes(cn.id), 'roster sees the Node socket\'s room');

  section = 'serverSideEmit';
  const fromRoster = new Promise((resolve) => {
    const t = setTimeout(() => fail('no fromRoster on the Node server'), 5000);
    srv.on('fromRoster', (...args) => { clearTimeout(t); resolve(args); });
  });
  await ack(ca, 'sse', 'hi', 2);
  eq(await fromRoster, ['hi', 2], 'roster -> Node serverSideEmit');
  srv.serverSideEmit('fromNode', 42);
  for (const s of [ca, cb]) {
    let n = 0;
    for (let i = 0; i < 100 && n !== 1; i++) {
      n = await ack(s, 'sse_count');
      if (n !== 1) await sleep(50);
    }
    eq(n, 1, `Node -> roster serverSideEmit on ${s.name}'s node`);
  }

  for (const s of [ca, cb, cb2, cn]) s.close();
  srv.close();
  await Promise.all([pub.quit(), sub.quit(), rc.quit()]);
  console.log(`sio_redis_interop: ${checks} checks passed`);
  process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
