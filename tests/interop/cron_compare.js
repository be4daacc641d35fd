// cron_compare.js: the Node.js side of tests/interop/cron_compare.c.
//
// Reads lines "<id>\t<lib>\t<expr>\t<tz>\t<from>\t<n>" on stdin (lib is
// "cron-parser" or "croner", from is Unix seconds) and writes, per line,
// "<id>\tOK\t<t1> <t2> ..." (the next n fire times after from, Unix
// seconds; for cron-parser also "\t<p1> ..." the n previous ones) or
// "<id>\tERR\t<message>" when the library refuses the expression.
'use strict';

const readline = require('readline');
const { CronExpressionParser } = require('cron-parser');
const { Cron } = require('croner');

function cronParser(expr, tz, from, n) {
  const opts = { currentDate: new Date(from * 1000), tz };
  const it = CronExpressionParser.parse(expr, opts);
  const next = [];
  for (let i = 0; i < n; i++) next.push(it.next().getTime() / 1000);
  const back = CronExpressionParser.parse(expr, opts);
  const prev = [];
  for (let i = 0; i < n; i++) prev.push(back.prev().getTime() / 1000);
  return next.join(' ') + '\t' + prev.join(' ');
}

function croner(expr, tz, from, n) {
  // legacyMode: both day fields restricted -> either matches (Vixie's rule)
  const c = new Cron(expr, { timezone: tz, legacyMode: true, paused: true });
  const out = [];
  let d = new Date(from * 1000);
  for (let i = 0; i < n; i++) {
    d = c.nextRun(d);
    if (!d) break;
    out.push(d.getTime() / 1000);
  }
  c.stop();
  return out.join(' ');
}

const rl = readline.createInterface({ input: process.stdin });
const out = [];
rl.on('line', (line) => {
  if (!line) return;
  const [id, lib, expr, tz, from, n] = line.split('\t');
  try {
    const f = lib === 'croner' ? croner : cronParser;
    out.push(`${id}\tOK\t${f(expr, tz, Number(from), Number(n))}`);
  } catch (e) {
    out.push(`${id}\tERR\t${String(e && e.message).replace(/\s+/g, ' ')}`);
  }
});
rl.on('close', () => {
  process.stdout.write(out.join('\n') + '\n');
});
