// pino_baseline.js: the pino side of roster-bench-log. Writes the benchmark's
// typical line (a message and four fields: string, int, double, bool) with
// pino to /dev/null through pino.destination({sync: true}) (one write per
// line, like roster's sync mode), best of REPEATS runs of LINES lines after a
// warm-up, and prints one JSON object:
//   {"impl":"pino","mode":"sync","threads":1,"lines_per_sec":N,"line_bytes":B}
// Usage: node bench/pino_baseline.js [LINES] [REPEATS]
// pino comes from tests/interop/node_modules (scripts/npm.sh installs it).
'use strict';

const path = require('path');

let pino;
try {
  pino = require(path.join(__dirname, '..', 'tests', 'interop', 'node_modules', 'pino'));
} catch (e) {
  console.error('pino_baseline: pino is not installed (run scripts/npm.sh): ' + e.message);
  process.exit(2);
}

const lines = parseInt(process.argv[2], 10) || 200000;
const repeats = parseInt(process.argv[3], 10) || 3;

const log = pino(pino.destination({ dest: '/dev/null', sync: true }));

function run(n) {
  for (let i = 0; i < n; i++) {
    log.info({ user: 'alice', status: 200, latency: 12.5, cached: true }, 'request handled');
  }
}

run(Math.min(lines, 50000)); // warm-up: let the JIT compile the path

let best = Infinity;
for (let r = 0; r < repeats; r++) {
  const t0 = process.hrtime.bigint();
  run(lines);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (s < best) best = s;
}

// the size of one line, for the table (what the loop above wrote)
let lineBytes = 0;
const sizer = pino({}, { write(s) { lineBytes = Buffer.byteLength(s); } });
sizer.info({ user: 'alice', status: 200, latency: 12.5, cached: true }, 'request handled');

console.log(JSON.stringify({
  impl: 'pino',
  mode: 'sync',
  threads: 1,
  lines_per_sec: Math.round(lines / best),
  line_bytes: lineBytes,
}));
