// cluster.mjs: three roster processes as three hosts, on a 3-member etcd
// cluster and one Redis, checked from outside the way an operator would.
//
// Each host is its own network namespace (netns.sh; 127.0.0.2..4 where
// namespaces cannot be made) running cluster_node, which publishes its
// Socket.IO server as "web" in etcd, mirrors the cluster into its
// registry, runs the clustered cron job "tick" every 2 s (each run
// RPUSHes "<fire time> <node>" to the Redis list "ticks": the job's own
// records in a shared database) and serves /peers (the instances of "web"
// its registry holds now) and /emit (a broadcast through the Redis
// adapter) beside Socket.IO on one port.
//
// Phases:
//  1. the three find each other by name (each /peers lists three);
//  2. a broadcast from each node reaches clients on all three;
//  3. one etcd member SIGKILLed: nothing visible changes; back again;
//     then all three down for a while: every node keeps serving its last
//     view and its admin page (panel "discovery") shows it stale; back
//     again, fresh;
//  4. clustered cron over 2 minutes of ticks, node 3 SIGKILLed mid-way:
//     the others see it vanish within one lease TTL (+ the lessor's
//     period), every tick of the 2 minutes ran exactly once;
//  5. chaos for CHAOS_S seconds: random SIGKILLs and restarts of nodes
//     and etcd members (at most one member down, at least one node up),
//     then everything back: views converge to the three live nodes, no
//     tick ever ran twice, and no tick is missing once the chaos ends;
//  6. a node stopped with SIGTERM unpublishes: the others see it go at
//     once, not a TTL later.
//
// Usage: node cluster.mjs NODE_BIN NETNS_SH INTEROP_DIR
// env: ROSTER_TEST_REQUIRE_SERVERS=1 turns "cannot run here" (77) into a
// failure; CLUSTER_CRON_S (120) and CLUSTER_CHAOS_S (40) shorten runs.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [nodeBin, netnsSh, interopDir] = process.argv.slice(2);
const require = createRequire(path.join(interopDir, 'package.json'));
const require_strict = process.env.ROSTER_TEST_REQUIRE_SERVERS === '1';
const TTL = 3; // the nodes' lease, s
const CRON_S = +(process.env.CLUSTER_CRON_S || 120);
const CHAOS_S = +(process.env.CLUSTER_CHAOS_S || 40);
const N = 3;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
let failures = 0;
const check = (ok, what) => {
  if (ok) log('ok:', what);
  else { failures++; console.error('cluster: FAIL:', what); }
};
function cannotRun(why) {
  console.error('cluster: cannot run here: ' + why);
  process.exit(require_strict ? 1 : 77);
}

for (const t of ['etcd', 'redis-server', 'redis-cli']) {
  try { execFileSync('sh', ['-c', `command -v ${t}`]); } catch { cannotRun(`${t} is not installed`); }
}
let io;
try {
  ({ io } = require('socket.io-client'));
} catch (e) { cannotRun('the npm test peers are missing: ' + e.message); }

// ---- the hosts ----------------------------------------------------------
const tag = process.env.CLUSTER_TAG || 'rc' + (process.pid % 100000);
const subnet = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-cluster-'));
const children = new Set();
let mode = 'loopback';
try {
  mode = execFileSync(netnsSh, ['up', tag, String(N), subnet]).toString().trim();
} catch (e) { console.error('netns.sh up failed: ' + e.message); }
const hostIp = (i) => (mode === 'netns' ? `${subnet}.${10 + i}` : `127.0.0.${1 + i}`);
const infraIp = mode === 'netns' ? `${subnet}.1` : '127.0.0.1';
log(`hosts: ${mode}; infrastructure on ${infraIp}; work in ${work}`);

function cleanup() {
  for (const c of children) { try { process.kill(c.pid, 'SIGKILL'); } catch {} }
  if (mode === 'netns') { try { execFileSync(netnsSh, ['down', tag, String(N)]); } catch {} }
  if (!process.env.CLUSTER_KEEP) fs.rmSync(work, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

function run(name, cmd, args, opts = {}) {
  const out = fs.openSync(path.join(work, name + '.log'), 'a');
  const c = spawn(cmd, args, { stdio: ['ignore', out, out], ...opts });
  c.tag = name;
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}
const kill = (c, sig = 'SIGKILL') =>
  new Promise((r) => { if (c.exitCode !== null || c.signalCode) return r(); c.once('exit', r); c.kill(sig); });

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, infraIp, () => { const p = s.address().port; s.close(() => res(p)); });
  });
}
async function tcpUp(host, port, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((r) => {
      const s = net.connect(port, host);
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

// ---- etcd: 3 members ----------------------------------------------------
const etcd = [];
for (let i = 1; i <= N; i++) etcd.push({ i, client: await freePort(), peer: await freePort() });
const initial = etcd.map((m) => `m${m.i}=http://${infraIp}:${m.peer}`).join(',');
function startMember(m) {
  const dir = path.join(work, `etcd-m${m.i}`);
  const fresh = !fs.existsSync(dir);
  m.proc = run(`etcd-m${m.i}`, 'etcd', [
    '--name', `m${m.i}`, '--data-dir', dir,
    '--listen-client-urls', `http://${infraIp}:${m.client}`,
    '--advertise-client-urls', `http://${infraIp}:${m.client}`,
    '--listen-peer-urls', `http://${infraIp}:${m.peer}`,
    '--initial-advertise-peer-urls', `http://${infraIp}:${m.peer}`,
    ...(fresh ? ['--initial-cluster', initial, '--initial-cluster-state', 'new',
      '--initial-cluster-token', tag] : []),
  ]);
}
etcd.forEach(startMember);
const endpoints = etcd.map((m) => `http://${infraIp}:${m.client}`).join(',');
for (const m of etcd) if (!(await tcpUp(infraIp, m.client, 15000))) cannotRun(`etcd member ${m.i} did not start`);
async function etcdHealthy(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(`http://${infraIp}:${etcd[0].client}/health`);
      if ((await r.json()).health === 'true') return true;
    } catch {}
    await sleep(200);
  }
  return false;
}
if (!(await etcdHealthy(20000))) cannotRun('the etcd cluster did not become healthy');

// ---- Redis --------------------------------------------------------------
const redisPort = await freePort();
run('redis', 'redis-server', ['--port', String(redisPort), '--bind', infraIp, '--save', '',
  '--appendonly', 'no', '--protected-mode', 'no']);
if (!(await tcpUp(infraIp, redisPort, 10000))) cannotRun('redis did not start');
const redisUrl = `redis://${infraIp}:${redisPort}/0`;
const lrange = (key) => execFileSync('redis-cli', ['-h', infraIp, '-p', String(redisPort), '--raw',
  'lrange', key, '0', '-1']).toString().split('\n').filter((x) => x);

// ---- the nodes ----------------------------------------------------------
const PORT = 7300; // every host has its own address
const nodes = [];
for (let i = 1; i <= N; i++) nodes.push({ i, ip: hostIp(i), gen: 0 });
function startNode(n) {
  n.gen++;
  const env = {
    ...process.env,
    CLUSTER_NODE_ID: `n${n.i}`,
    CLUSTER_NODE_ADDR: n.ip,
    CLUSTER_NODE_PORT: String(PORT),
    CLUSTER_ETCD: endpoints,
    CLUSTER_REDIS: redisUrl,
    CLUSTER_TTL: String(TTL),
    CLUSTER_NAME: tag,
  };
  const args = mode === 'netns' ? ['netns', 'exec', `${tag}-${n.i}`, nodeBin] : [nodeBin];
  n.proc = run(`node-n${n.i}`, mode === 'netns' ? 'ip' : nodeBin, mode === 'netns' ? args : [], { env });
}
const base = (n) => `http://${n.ip}:${PORT}`;
async function getJson(url) {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 2000);
  try {
    const r = await fetch(url, { signal: ac.signal });
    return r.ok ? await r.json() : null;
  } catch { return null; } finally { clearTimeout(t); }
}
// peers: the instances of "web" n's registry holds now, "<id>-<pid>"
// sorted: a restarted node's old instance is told from its new one
async function peers(n) {
  const j = await getJson(base(n) + '/peers');
  return j ? j.map((p) => p.instance).sort().join(',') : null;
}
// instances: what the views should hold for the nodes named ("n1,n2")
const instances = (names) => names.split(',').map((id) => `${id}-${nodes[+id.slice(1) - 1].proc.pid}`)
  .sort().join(',');
async function waitPeers(ns, names, ms) {
  const want = instances(names);
  const end = Date.now() + ms;
  let got;
  while (Date.now() < end) {
    got = await Promise.all(ns.map(peers));
    if (got.every((g) => g === want)) return { ok: true, ms: ms - (end - Date.now()) };
    await sleep(100);
  }
  return { ok: false, got };
}
const live = () => nodes.filter((n) => n.proc && n.proc.exitCode === null && !n.proc.signalCode);
const ids = (ns) => ns.map((n) => `n${n.i}`).sort().join(',');

const t0 = Date.now();
nodes.forEach(startNode);
for (const n of nodes) if (!(await tcpUp(n.ip, PORT, 15000))) cannotRun(`node ${n.i} did not start (see ${work})`);

// 1. discovery
{
  const r = await waitPeers(nodes, 'n1,n2,n3', 15000);
  check(r.ok, `each node finds the three by name (${r.ok ? r.ms + ' ms' : JSON.stringify(r.got)})`);
}

// 2. broadcasts across nodes
async function clients() {
  return Promise.all(nodes.map((n) => new Promise((res, rej) => {
    const s = io(base(n), { transports: ['websocket'], forceNew: true, reconnection: false });
    s.got = [];
    s.on('news', (m) => s.got.push(m));
    s.once('connect', () => res(s));
    s.once('connect_error', rej);
  })));
}
async function broadcastRound(label) {
  const cs = await clients();
  await sleep(200); // the joins are local; the subscriptions are up already
  const sent = [];
  for (const n of live()) {
    const text = `${label} from n${n.i}`;
    const r = await getJson(`${base(n)}/emit?room=all&text=${encodeURIComponent(text)}`);
    if (r && r.ok) sent.push(text);
  }
  const end = Date.now() + 5000;
  while (Date.now() < end && !cs.every((c) => c.got.length >= sent.length)) await sleep(50);
  for (const c of cs) c.close();
  return { sent, got: cs.map((c) => c.got.map((m) => m.text).sort()) };
}
{
  const r = await broadcastRound('hello');
  const want = [...r.sent].sort().join('|');
  check(r.sent.length === N && r.got.every((g) => g.join('|') === want),
    `a broadcast from each node reaches clients on all three (${JSON.stringify(r.got)})`);
}

// 3. one etcd member down
{
  const m = etcd[0];
  await kill(m.proc);
  await sleep(1500);
  const r = await waitPeers(nodes, 'n1,n2,n3', 5000);
  check(r.ok, 'with one etcd member SIGKILLed, every node still sees the three');
  const b = await broadcastRound('member-down');
  check(b.sent.length === N && b.got.every((g) => g.length === N), 'broadcasts still reach all three');
  startMember(m);
  check(await tcpUp(infraIp, m.client, 15000), 'the member comes back on its data');
}

// 3b. etcd out of reach altogether: every local registry keeps serving
// the last view, and the admin page says how stale it is; back again,
// the views are fresh
{
  const panel = async (n) => {
    const j = await getJson(`http://${n.ip}:${PORT + 1}/api/panels`);
    return j && j.discovery;
  };
  const fresh = await Promise.all(nodes.map(panel));
  check(fresh.every((p) => p && p.connected === true && p.stale_ms === 0 && p.instances === N),
    `the admin page shows each node's mirror connected and fresh (${JSON.stringify(fresh)})`);
  await Promise.all(etcd.map((m) => kill(m.proc)));
  await sleep(3000);
  const r = await waitPeers(nodes, 'n1,n2,n3', 2000);
  check(r.ok, 'with every etcd member down, each node still finds the three by name');
  const stale = await Promise.all(nodes.map(panel));
  check(stale.every((p) => p && p.connected === false && p.stale_ms >= 2500),
    `and its admin page shows the view stale (${JSON.stringify(stale.map((p) => p && p.stale_ms))} ms)`);
  etcd.forEach(startMember);
  for (const m of etcd) check(await tcpUp(infraIp, m.client, 15000), `etcd member ${m.i} back`);
  check(await etcdHealthy(20000), 'the etcd cluster is healthy again');
  const end = Date.now() + 15000;
  let back;
  while (Date.now() < end) {
    back = await Promise.all(nodes.map(panel));
    if (back.every((p) => p && p.connected && p.stale_ms === 0)) break;
    await sleep(200);
  }
  check(back.every((p) => p && p.connected && p.stale_ms === 0), 'every mirror reconnects and is fresh again');
  check((await waitPeers(nodes, 'n1,n2,n3', 5000)).ok, 'and the three are still the three');
}

// 4. clustered cron with a node lost mid-way
const tick0 = Math.ceil(Date.now() / 2000) * 2 + 4; // a fire time (s) all nodes see
log(`cron: ticks from ${tick0} for ${CRON_S} s`);
await sleep(Math.max(0, (tick0 + 2 * Math.floor(CRON_S / 4) + 1) * 1000 - Date.now())); // mid-way, 1 s past a tick
{
  const victim = nodes[2];
  const killedAt = Date.now();
  await kill(victim.proc);
  const r = await waitPeers(nodes.slice(0, 2), 'n1,n2', (TTL + 3) * 1000);
  const gone = Date.now() - killedAt;
  check(r.ok && gone <= TTL * 1000 + 2000,
    `node 3 SIGKILLed: the others see it vanish in ${gone} ms (TTL ${TTL} s)`);
}
const tickEnd = tick0 + CRON_S;
await sleep(Math.max(0, tickEnd * 1000 + 3000 - Date.now()));
async function ledger() {
  const rows = lrange('ticks');
  const m = new Map();
  for (const row of rows) {
    const [t, who] = row.split(' ');
    if (!m.has(+t)) m.set(+t, []);
    m.get(+t).push(who);
  }
  return m;
}
{
  const m = await ledger();
  const missing = [], twice = [];
  const by = {};
  for (let t = tick0; t < tickEnd; t += 2) {
    const w = m.get(t) || [];
    if (w.length === 0) missing.push(t);
    if (w.length > 1) twice.push(`${t}:${w}`);
    for (const x of w) by[x] = (by[x] || 0) + 1;
  }
  check(missing.length === 0 && twice.length === 0,
    `cron over ${CRON_S} s of 2 s ticks: every tick once (missing ${missing.length}, twice ${twice.length}; ran by ${JSON.stringify(by)})`);
  if (missing.length || twice.length) console.error({ missing, twice });
}
startNode(nodes[2]);
check(await tcpUp(nodes[2].ip, PORT, 15000), 'node 3 restarts');
check((await waitPeers(nodes, 'n1,n2,n3', 15000)).ok, 'and the three see each other again');

// 5. chaos
if (CHAOS_S > 0) {
  const chaosEnd = Date.now() + CHAOS_S * 1000;
  const actions = [];
  const rnd = (k) => Math.floor(Math.random() * k); // the actions are logged
  while (Date.now() < chaosEnd) {
    const a = rnd(4);
    if (a <= 1) { // a node
      const n = nodes[rnd(N)];
      if (live().includes(n) && live().length > 1) { await kill(n.proc); actions.push(`kill n${n.i}`); }
      else if (!live().includes(n)) { startNode(n); actions.push(`start n${n.i}`); }
    } else { // an etcd member
      const m = etcd[rnd(N)];
      const down = etcd.filter((x) => x.proc.exitCode !== null || x.proc.signalCode);
      if (down.includes(m)) { startMember(m); actions.push(`start etcd m${m.i}`); }
      else if (down.length === 0) { await kill(m.proc); actions.push(`kill etcd m${m.i}`); }
    }
    await sleep(1500 + rnd(2500));
  }
  for (const m of etcd) if (m.proc.exitCode !== null || m.proc.signalCode) startMember(m);
  for (const n of nodes) if (!live().includes(n)) startNode(n);
  log('chaos:', actions.join(', '));
  const calm = Math.ceil(Date.now() / 2000) * 2 + 2;
  for (const n of nodes) check(await tcpUp(n.ip, PORT, 15000), `node ${n.i} up after the chaos`);
  const r = await waitPeers(nodes, 'n1,n2,n3', (TTL + 15) * 1000);
  check(r.ok, `after the chaos every view converges to the three live nodes (${r.ok ? r.ms + ' ms' : JSON.stringify(r.got)})`);
  const b = await broadcastRound('after-chaos');
  check(b.sent.length === N && b.got.every((g) => g.length === N), 'broadcasts reach all three after the chaos');
  await sleep(Math.max(0, (calm + 20) * 1000 + 2000 - Date.now()));
  const m = await ledger();
  const twice = [...m.entries()].filter(([, w]) => w.length > 1).map(([t, w]) => `${t}:${w}`);
  check(twice.length === 0, `no tick ran twice in the whole run, chaos included (${m.size} ticks)`);
  const missing = [];
  for (let t = calm; t < calm + 20; t += 2) if (!m.has(t)) missing.push(t);
  check(missing.length === 0, `no tick missing once the chaos ended (${JSON.stringify(missing)})`);
}

// 6. a node stopped with SIGTERM unpublishes: gone at once, not after
// its lease's TTL
{
  const n = nodes[1];
  const at = Date.now();
  await kill(n.proc, 'SIGTERM');
  check(n.proc.exitCode === 0, `node 2 stops cleanly on SIGTERM (exit ${n.proc.exitCode})`);
  const r = await waitPeers([nodes[0], nodes[2]], 'n1,n3', (TTL + 3) * 1000);
  const gone = Date.now() - at;
  check(r.ok && gone < 1500, `node 2 stopped with SIGTERM: gone from the others' views in ${gone} ms`);
}

log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${failures} failure(s)`);
process.exit(failures ? 1 : 0);
