/**
 * The dashboard (internal/http/dashboard) in a real browser against a real pmond: Debian's
 * /usr/bin/chromium driven by playwright-core (never a downloaded browser), skipped visibly
 * when it is absent. One pmond with the HTTP door on a free loopback port and two keys made by
 * `pmon3 key gen`: an operator and a viewer, both the current user's.
 *
 * - the operator logs in with the pasted PEM: one row per process, a screenshot of the viewport;
 * - its restart button restarts the process (the CLI's `ls` shows the count go up) and the row
 *   shows the new count;
 * - the filter, the sort by a header, the log pane (a followed log, its last 2000 lines kept);
 * - a thousand processes (pmond's answers made up by a route): one changed value is one DOM
 *   change, and the sparklines are drawn when /v1/stats answers;
 * - the viewer logs in with the key's file: no action buttons at all, and pmond refuses the
 *   viewer's token a restart (403) even when the page asks directly;
 * - a request from another origin is refused: from Node with a foreign Origin or Sec-Fetch-Site,
 *   and from a page of another origin in the browser.
 * No page may log an uncaught exception or a CSP violation. Each test works alone (the
 * operator's page is logged in by the first test that wants it).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { PMON3, TestDaemon } from '../helpers/daemon';
import { freePort } from '../helpers/net';
import { removeTempDir, tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

/** The browser globals the functions run in the page use (the project's tsconfig has no DOM lib). */
interface PageElement {
  textContent: string | null;
  childElementCount: number;
  firstElementChild: PageElement | null;
  lastElementChild: PageElement | null;
}
declare const document: { querySelectorAll(s: string): ArrayLike<PageElement>; querySelector(s: string): PageElement | null };
declare const MutationObserver: new (fn: (records: unknown[]) => void) => { observe(target: PageElement, o: Record<string, boolean>): void };
declare const window: Record<string, unknown>;
declare const sessionStorage: { getItem(key: string): string | null };

const CHROMIUM = '/usr/bin/chromium';
const skip = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (Debian: apt-get install chromium)`;
const VIEWPORT = { width: 1280, height: 800 };
/** Playwright's own waits (selectors, functions) end here at the latest. */
const UI_MS = 10_000;
const NAMES = ['dash-a', 'dash-b', 'dash-c'];

let d: TestDaemon | undefined;
let dir: string | undefined;
let browser: BrowserContext | undefined;
let other: http.Server | undefined;
let base = '';
const keys: Record<'ops' | 'look', { file: string; public_key: string; pem: string }> = {} as never;

before(async () => {
  if (skip) return;
  dir = tempDir('pmdash-', 0o700);
  for (const name of ['ops', 'look'] as const) {
    const file = path.join(dir, `${name}.key`);
    const { stdout } = await promisify(execFile)(PMON3, ['key', 'gen', file, '--json']);
    const v = JSON.parse(stdout) as { public_key: string };
    keys[name] = { file, public_key: v.public_key, pem: fs.readFileSync(file, 'utf8') };
  }
  const port = await freePort();
  const user = os.userInfo().username;
  d = await TestDaemon.start({
    config: {
      http: {
        listen: `127.0.0.1:${port}`,
        keys: [
          { name: 'ops', public_key: keys.ops.public_key, user, role: 'operator' },
          { name: 'look', public_key: keys.look.public_key, user, role: 'viewer' },
        ],
      },
    },
  });
  base = `http://127.0.0.1:${port}`;
  // pmond opens the door before it says it listens: it is up, or it said why not.
  assert.ok(d.stderr.includes(`http: listening on ${base}`), `the HTTP door is not up: ${d.stderr.trim()}`);
  for (const [i, name] of NAMES.entries()) await d.json(['exec', '/bin/sleep', '--name', name, '--', String(600 + i)]);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launchPersistentContext(tempDir('pmdash-ud-', 0o700), {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: VIEWPORT,
    timeout: 20_000,
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await new Promise<void>((r) => (other ? other.close(() => r()) : r()));
  await d?.stop();
  removeTempDir(dir);
});

/**
 * A page of the dashboard, logged in with key (pasted, or picked as a file), once its table shows
 * `rows` rows; `setup` runs before the page is opened (routes).
 */
async function loginPage(key: 'ops' | 'look', how: 'paste' | 'file', rows = NAMES.length, setup?: (page: Page) => Promise<void>): Promise<Page> {
  const page = await browser!.newPage();
  page.setDefaultTimeout(UI_MS);
  const seen: string[] = [];
  problems.set(page, seen);
  page.on('pageerror', (e) => seen.push(`uncaught: ${e.message}`));
  // A refused request is logged by the browser as a failed resource (the tests make some on purpose); a CSP violation, or anything else, is a problem.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) seen.push(m.text());
  });
  await setup?.(page);
  await page.goto(`${base}/`);
  if (how === 'paste') await page.fill('#pem', keys[key].pem);
  else await page.setInputFiles('#pem-file', keys[key].file);
  await page.click('#login-button');
  await page.waitForFunction((n) => document.querySelectorAll('table#procs tbody tr[data-id]').length === n, rows);
  assert.equal(await page.inputValue('#pem'), '', 'the pasted key is cleared after login');
  return page;
}

/** What went wrong in each page: uncaught exceptions, CSP violations and other console errors. */
const problems = new WeakMap<Page, string[]>();
const assertClean = (page: Page): void => assert.deepEqual(problems.get(page), [], 'the page logged errors');

/** The page's token (sessionStorage: this tab's only). */
const tokenOf = (page: Page): Promise<string> => page.evaluate(() => JSON.parse(sessionStorage.getItem('pmon3.session') ?? '{}').token as string);

/** A request to the door from Node, with exactly these headers. */
function raw(method: string, p: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${p}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end();
  });
}

const restartsOf = async (name: string): Promise<number> => (await d!.get(name)).restarts as number;

let opsPage: Promise<Page> | undefined;
/** The operator's page, logged in by whichever test wants it first (each test works alone). */
const ops = (): Promise<Page> => (opsPage ??= loginPage('ops', 'paste'));

test('the operator logs in with a pasted key: one row per process, and a screenshot of it', { skip }, async () => {
  const page = await ops();
  const ls = await d!.ls();
  for (const name of NAMES) {
    const p = ls.find((x) => x.name === name);
    const row = page.locator(`table#procs tr[data-id="${p.id}"]`);
    assert.equal(await row.locator('td[data-col=name]').textContent(), name);
    await page.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] td[data-col=status]`)?.textContent === 'running', p.id);
    for (const a of ['start', 'stop', 'restart', 'scale']) assert.equal(await row.locator(`button[data-action=${a}]`).count(), 1, `${name} has a ${a} button`);
  }
  assert.equal(await page.locator('button[data-action=delete]').count(), 0, 'an operator gets no delete button');
  assert.match((await page.textContent('#who')) ?? '', /ops · operator/);
  const png = await page.screenshot();
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  // IHDR: width and height, big-endian, at bytes 16 and 20.
  assert.deepEqual({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }, VIEWPORT);
  assert.ok(png.length > 10_000, `a screenshot of ${png.length} bytes is too small to show a table`);
  assertClean(page);
});

test("the operator's restart button restarts the process and its row shows the new count", { skip }, async () => {
  const page = await ops();
  const p = await d!.get('dash-b');
  await page.click(`tr[data-id="${p.id}"] button[data-action=restart]`);
  const now = await waitFor('dash-b restarted by the dashboard', async () => {
    const n = await restartsOf('dash-b');
    return n > p.restarts ? n : 0;
  }, 10_000, 100);
  await page.waitForFunction(([id, n]) => document.querySelector(`tr[data-id="${id}"] td[data-col=restarts]`)?.textContent === String(n), [p.id, now] as const);
  assert.equal(await restartsOf('dash-a'), 0, 'the other rows were left alone');
  assert.equal(await page.isHidden('#error'), true, `no error shown: ${await page.textContent('#error-text')}`);
});

test('the filter hides rows, a header click sorts by that column, the log pane follows a log and keeps its last 2000 lines', { skip }, async () => {
  const page = await ops();
  const visible = (): Promise<string[]> =>
    page.evaluate(() => Array.from(document.querySelectorAll('#procs tbody tr[data-id]:not([hidden]) td[data-col=name]'), (td) => td.textContent ?? ''));
  await page.fill('#filter', 'DASH-B');
  assert.deepEqual(await visible(), ['dash-b']);
  await page.fill('#filter', '');
  assert.deepEqual(await visible(), NAMES);
  await page.click('#procs th[data-sort=name]');
  await page.click('#procs th[data-sort=name]');
  assert.deepEqual(await visible(), [...NAMES].reverse());
  assert.equal(await page.getAttribute('#procs th[data-sort=name]', 'aria-sort'), 'descending');
  await page.click('#procs th[data-sort=id]');

  // sleep writes nothing: lines are appended to its log file as its logger would. The first one
  // shown means pmond has opened the log (its tail, or the follow after it): what is appended
  // after that comes through the follow.
  const p = await d!.get('dash-a');
  await page.click(`tr[data-id="${p.id}"] button[data-log]`);
  await page.waitForFunction(() => document.querySelector('#log-state')?.textContent === 'following');
  assert.equal(await page.textContent('#log-title'), `dash-a (id ${p.id})`);
  const lastLine = (text: string): Promise<unknown> => page.waitForFunction((t) => document.querySelector('pre#log')?.lastElementChild?.textContent === t, text);
  fs.appendFileSync(p.log, 'x 0\n');
  await lastLine('x 0');
  const n = 3000;
  fs.appendFileSync(p.log, `${Array.from({ length: n }, (_, i) => `x ${i + 1}`).join('\n')}\n`);
  await lastLine(`x ${n}`);
  const shown = await page.evaluate(() => {
    const pre = document.querySelector('pre#log')!;
    return { count: pre.childElementCount, first: pre.firstElementChild?.textContent };
  });
  assert.deepEqual(shown, { count: 2000, first: `x ${n - 1999}` });
  await page.click('#log-close');
  assert.equal(await page.isHidden('#logs'), true);
  assertClean(page);
});

test('a thousand processes: one changed value changes one cell; sparklines drawn when /v1/stats answers', { skip }, async () => {
  const N = 1000;
  const procs = Array.from({ length: N }, (_, i) => ({
    id: i + 1, name: `syn-${i + 1}`, status: 'running', pid: 10_000 + i, user: 'root', uid: 0, restarts: 0,
    cpu: 0.5, memory: 1_048_576, uptime_ms: 60_000, app: `syn-${i + 1}`, instance: 0, reason: null,
  }));
  const statsAsked: string[] = [];
  let listed = 0;
  const series = procs.map((x) => ({ id: x.id, name: x.name, cpu: [1, 2, null, 4, 3], memory: [5, 6, 7, 8, 9] }));
  // The list and the stats are pmond's shape, made up here: this pmond has neither 1000 processes nor /v1/stats.
  const page = await loginPage('ops', 'paste', N, async (pg) => {
    await pg.route(`${base}/v1/processes`, (r) => {
      listed++;
      return r.fulfill({ json: { processes: procs } });
    });
    await pg.route(/\/v1\/stats\?/, (r) => {
      statsAsked.push(new URL(r.request().url()).search);
      return r.fulfill({ json: { res_minutes: 1, points: 5, series } });
    });
  });
  try {
    await page.waitForFunction((n) => document.querySelectorAll('#procs svg.spark path[d^="M"]').length === 2 * n, N);
    assert.equal(await page.isVisible('#res-label'), true);
    await page.evaluate(() => {
      window.mutations = 0;
      new MutationObserver((rs) => {
        window.mutations = (window.mutations as number) + rs.length;
      }).observe(document.querySelector('#procs tbody')!, { subtree: true, childList: true, characterData: true, attributes: true });
    });
    procs[499]!.restarts = 7;
    await page.waitForFunction(() => document.querySelector('tr[data-id="500"] td[data-col=restarts]')?.textContent === '7');
    // And a poll with nothing new changes nothing: the next request is made only once the one
    // before it was applied, so two more requests mean one more list applied.
    const seen = listed;
    await waitFor('two more polls of the list', () => listed >= seen + 2, 10_000, 50);
    const m = await page.evaluate(() => window.mutations as number);
    assert.ok(m >= 1 && m <= 2, `${m} DOM mutations in the table for one changed cell`);
    await page.selectOption('#res', '5');
    await waitFor('stats asked at res=5', () => statsAsked.includes('?res=5'), 5000);
    assertClean(page);
  } finally {
    await page.close();
  }
});

test('a viewer logs in with the key file and gets no action buttons; pmond refuses its token a restart', { skip }, async () => {
  const page = await loginPage('look', 'file');
  try {
    assert.equal(await page.locator('button[data-action]').count(), 0);
    assert.equal(await page.isHidden('#actions-head'), true);
    assert.match((await page.textContent('#who')) ?? '', /look · viewer/);
    const p = await d!.get('dash-a');
    const before = p.restarts as number;
    const token = await tokenOf(page);
    const r = await page.evaluate(
      async ([id, t]) => {
        const res = await fetch(`/v1/processes/${id}/restart`, { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
        return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
      },
      [p.id, token] as const,
    );
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'PERMISSION_DENIED');
    assert.match(r.body.error.message, /viewer.*may not call restart/);
    assert.equal(await restartsOf('dash-a'), before);
    // Logging out forgets the token: the tab keeps nothing, the login form is back.
    await page.click('#logout');
    await page.waitForSelector('#login', { state: 'visible' });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('pmon3.session')), null);
    assert.equal(await page.locator('tr[data-id]').count(), 0);
    // ...and pmond forgets it too: a copy taken before is refused.
    await waitFor('pmond to refuse the token after log out', async () => (await raw('GET', '/v1/processes', { Authorization: `Bearer ${token}` })).status === 403, 10_000);
    assertClean(page);
  } finally {
    await page.close();
  }
});

test('a request from another origin is refused, with a good token too', { skip }, async () => {
  const token = await tokenOf(await ops());
  const p = await d!.get('dash-c');
  const auth = { Authorization: `Bearer ${token}` };
  assert.equal((await raw('GET', '/v1/processes', auth)).status, 200, 'the token itself is good');
  const foreign: Record<string, string>[] = [
    { Origin: 'http://evil.example' },
    { Origin: `http://localhost:${new URL(base).port}` },
    { Origin: `http://127.0.0.1:${Number(new URL(base).port) + 1}` },
    { 'Sec-Fetch-Site': 'cross-site' },
    { 'Sec-Fetch-Site': 'same-site' },
  ];
  for (const h of foreign) {
    const r = await raw('POST', `/v1/processes/${p.id}/restart`, { ...auth, ...h });
    assert.equal(r.status, 403, JSON.stringify(h));
    assert.equal(r.body.error.code, 'PERMISSION_DENIED');
    assert.match(r.body.error.message, /^a request from (another site|origin \S+) is refused/);
  }
  // A page of another origin (another port of 127.0.0.1: the same site, not the same origin).
  // Without credentials (a no-cors request can carry none) pmond answers 403; its body is opaque
  // to the page and to playwright, so why is pinned by the requests from Node above: Chromium
  // sends this one with Origin: http://127.0.0.1:PORT and Sec-Fetch-Site: same-site.
  const port = await freePort();
  other = http.createServer((_q, res) => res.end('<!doctype html><title>elsewhere</title>'));
  await new Promise<void>((r) => other!.listen(port, '127.0.0.1', () => r()));
  const page = await browser!.newPage();
  try {
    await page.goto(`http://127.0.0.1:${port}/`);
    const url = `${base}/v1/processes/${p.id}/restart`;
    const seen = page.waitForResponse((res) => res.url() === url, { timeout: UI_MS });
    await page.evaluate((u) => fetch(u, { method: 'POST', mode: 'no-cors' }).then(() => 'sent', (e: Error) => e.message), url);
    assert.equal((await seen).status(), 403);
    // And with the token, the browser itself will not send it: pmond's answer to the preflight has no CORS headers.
    const err = await page.evaluate(
      ([u, t]) => fetch(u, { method: 'POST', headers: { Authorization: `Bearer ${t}` } }).then((r) => `answered ${r.status}`, (e: Error) => e.name),
      [url, token] as const,
    );
    assert.equal(err, 'TypeError');
  } finally {
    await page.close();
  }
  assert.equal(await restartsOf('dash-c'), p.restarts, 'none of them restarted it');
});
