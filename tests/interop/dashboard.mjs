// dashboard.mjs: the admin dashboard in headless Chromium (Debian's
// /usr/bin/chromium, driven by puppeteer-core), as a person sees it.
// The C side (dashboard.c) runs the endpoint on a registry with services,
// a scheduler with the job "tick" and a logger. This script loads the page,
// checks that it shows the services, says "STOP" on stdout and waits for
// the state change the C side then makes ("ok" stops) to arrive live,
// types the token, runs the job by its button and waits for the run to
// show, checks a refusal without the token, and takes a screenshot.
// Usage: node dashboard.mjs URL TOKEN SCREENSHOT.png   (exit 0: passed)
import puppeteer from 'puppeteer-core';
import { createInterface } from 'node:readline';

const [url, token, shot] = process.argv.slice(2);
const fail = async (msg) => { console.error('dashboard: FAIL: ' + msg);
  try { await page.screenshot({ path: shot.replace(/\.png$/, '-failed.png') }); } catch {}
  process.exit(1); };
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 900 });
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
await page.goto(url, { waitUntil: 'load' });
if ((await page.title()) !== 'roster admin') await fail('title ' + await page.title());
const text = (sel) => page.$eval(sel, (e) => e.textContent).catch(() => null);
const wait = (fn, arg, what) => page.waitForFunction(fn, { timeout: 15000 }, arg)
  .catch(() => fail('timeout: ' + what));

// the services, live
await wait(() => document.querySelectorAll('#services tr[data-service]').length >= 3, null, 'services listed');
await wait(() => document.getElementById('conn').textContent === 'live', null, 'live connection');
for (const name of ['ok', 'db', 'flappy'])
  if (!(await page.$(`#services tr[data-service="${name}"]`))) await fail('no row for ' + name);
if ((await text('#services tr[data-service="ok"] .state')) !== 'ready') await fail('ok is not shown ready');
if ((await page.$$('#graph circle')).length < 3) await fail('the graph has no nodes');

// the application's panel, from the stats
await wait(() => /discovery/.test(document.getElementById('panels')?.textContent || '') &&
           /4242/.test(document.getElementById('panels').textContent) &&
           !document.getElementById('panels-card').hidden, null, 'the discovery panel shown');

// a state change arrives without a reload
const rl = createInterface({ input: process.stdin });
const stopped = new Promise((res) => rl.once('line', res));
console.log('STOP');
await stopped;
await wait(() => document.querySelector('#services tr[data-service="ok"] .state')?.textContent === 'stopped',
           null, 'the stop of "ok" shown live');

// an action without the token is refused; with it, the run appears
await wait(() => !!document.querySelector('#cron button[data-run="tick"]'), null, 'the job "tick" listed');
const runs0 = +(await text('#cron tr[data-job="tick"] .runs'));
// clicked in the page, on the button there at that moment
const runButton = () => page.evaluate(() => document.querySelector('#cron button[data-run="tick"]').click());
await runButton();
await wait(() => /run: 40[13]/.test(document.getElementById('toast').textContent), null, 'a refusal without the token');
await page.type('#token', token);
await runButton();
await wait((n) => +document.querySelector('#cron tr[data-job="tick"] .runs')?.textContent > n, runs0,
           'the run of "tick" shown');

// the log tail shows lines live, filtered by level
await wait(() => [...document.querySelectorAll('#logs li')].some((li) => li.textContent.includes('dashboard hello')),
           null, 'a live log line');
await page.select('#level', '50');
if ((await page.$$('#logs li.lv-warn')).length !== 0) await fail('the level filter kept warn lines');
await page.select('#level', '30');

if (errors.length) await fail('page errors: ' + errors.join('; '));
await new Promise((r) => setTimeout(r, 1200)); // one more stats tick for the sparkline
await page.screenshot({ path: shot, fullPage: true });
console.log('OK ' + shot);
await browser.close();
process.exit(0);
