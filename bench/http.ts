/**
 * The http workload: pmond's HTTP door (internal/http) with N `sleep`s managed (1000; quick 100),
 * on pmonds of its own started for it (fresh, so "on" and "off" start alike), one at a time:
 *
 * 1. pmond with the door off: N sleeps, the same socket load as below, then its RSS.
 * 2. pmond with the door on 127.0.0.1:PORT and one key (`pmon3 key gen FILE --json`, role
 *    operator, bound to this user, its rate raised to 100 000/s: the default 20/s would refuse
 *    most of the load): N sleeps, then
 *    - `GET /v1/processes` under autocannon (programmatic, in this process) with 1 and with 4
 *      connections, `amount` requests or 10 s, whichever ends first; every request signed on
 *      its own (internal/protocol/keys.ts authorization(): fresh timestamp and nonce), in autocannon's
 *      setupRequest; latency of every 2xx answer (autocannon's per-response time);
 *    - the same listing through the Unix socket with 1 and 4 connections: raw frames (`list`,
 *      page after page), no validation of the result, as autocannon does none;
 *    - `pmon3 ls --json` (the CLI, whole process);
 *    - RSS after that load (3 samples), to set against pmond without the door;
 *    - the dashboard's first render in headless /usr/bin/chromium (playwright-core, a fresh
 *      user-data dir): a new tab per sample; a token got here (POST /v1/auth/challenge, then
 *      /v1/auth/login with the challenge signed) put where the page keeps its session
 *      (sessionStorage `pmon3.session`, as dashboard.js does after a login), timed from
 *      navigation; and a login by the PEM pasted into the form, timed from its submit. Both
 *      until N `table#procs tr[data-id]` rows are in the DOM, and until the frame after that is
 *      done (a message posted from its requestAnimationFrame callback arrives after the frame's
 *      style, layout and paint: the judged figure). No rows within 10 s: "not measured:
 *      dashboard not built".
 * 3. supervisord (when it is a column), its own instance with an inet_http_server (basic auth):
 *    XML-RPC `supervisor.getAllProcessInfo` under the same autocannon load, and the first render
 *    of its web page (server-rendered status table) in the same browser.
 * PM2 has no signed HTTP API nor a dashboard of its own (pm2.io is a hosted service): "not measured".
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { authorization, parsePrivate, signChallenge } from '../internal/protocol/keys';
import { encodeFrame, FrameDecoder, MAX_REPLY_FRAME, PROTOCOL_VERSION } from '../internal/protocol';
import { freePort, nowMs, rssBytes, run, runOk, sleep } from './lib/proc';
import { missing, quantile } from './lib/stats';
import { Pmon3, ROOT } from './managers/pmon3';
import { Supervisord } from './managers/supervisord';
import { clearAll, daemons, populate, type Ctx } from './workloads';

const PMON3 = path.join(ROOT, 'bin', 'pmon3');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Where dashboard.js keeps its session ({token, expires_at, user}) after a login. */
const SESSION_KEY = 'pmon3.session';
export const HTTP_CONNECTIONS = [1, 4] as const;
export type HttpConnections = (typeof HTTP_CONNECTIONS)[number];
/** Each load ends after this long even if its amount is not reached. */
export const HTTP_MAX_S = 10;
/** How long a page may take to show every row before it is "not measured". */
export const DASH_WAIT_MS = 10_000;
export const HTTP_RSS_SAMPLES = 3;

export function httpKnobs(quick: boolean): { n: number; amount: number; dashReps: number; cliReps: number } {
  return quick ? { n: 100, amount: 500, dashReps: 3, cliReps: 5 } : { n: 1000, amount: 2000, dashReps: 5, cliReps: 5 };
}

/** Row ids; a latency row's samples are every answer's ms, `.info` says rate and failures, `.failed` counts them. */
export const httpRow = {
  get: (c: HttpConnections) => `http.get.c${c}`,
  sock: (c: HttpConnections) => `http.sock.c${c}`,
  info: (row: string) => `${row}.info`,
  failed: (row: string) => `${row}.failed`,
  cli: 'http.cli.json',
  rssOff: 'http.rss.off',
  rssOn: 'http.rss.on',
  rssDash: 'http.rss.dash',
  /** Samples: ms until the frame after the rows (or the rows, when no frame came); `.dom`: until the rows. */
  dashNav: 'http.dash.nav',
  dashLogin: 'http.dash.login',
  dom: (row: string) => `${row}.dom`,
} as const;

// autocannon has no types of its own: the part of its API used here.
interface AcRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}
interface AcClient {
  on(ev: 'response', f: (status: number, bytes: number, ms: number) => void): void;
  on(ev: 'connError' | 'timeout', f: (e?: Error) => void): void;
}
interface AcResult {
  errors: number;
  timeouts: number;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, res: AcResult) => void) => { stop(): void };
const autocannon = require('autocannon') as Autocannon;

/** What one load saw. */
interface Load {
  /** Every successful answer's latency, ms. */
  lat: number[];
  failed: number;
  /** Answers per second over the load's wall time. */
  rps: number;
  detail: string;
}

function record(ctx: Ctx, row: string, column: string, l: Load): void {
  for (const v of l.lat) ctx.results.add(row, column, v);
  ctx.results.set(httpRow.failed(row), column, { samples: [l.failed] });
  ctx.results.set(httpRow.info(row), column, missing(`${l.rps.toFixed(0)} req/s, ${l.lat.length} answered, ${l.failed} failed${l.failed ? ` (${l.detail})` : ''}`));
  ctx.log(`  ${column} ${row}: p50 ${quantile(l.lat, 50).toFixed(2)} ms, p99 ${quantile(l.lat, 99).toFixed(2)} ms, max ${quantile(l.lat, 100).toFixed(2)} ms; ${l.rps.toFixed(0)} req/s, ${l.lat.length} answered, ${l.failed} failed (${l.detail})`);
}

/**
 * autocannon on 127.0.0.1:port: `connections` connections, `amount` requests or HTTP_MAX_S,
 * whichever ends first; headers() is called for every request (a signature each).
 */
function httpLoad(o: { port: number; connections: number; amount: number; method: string; path: string; body?: string; headers: () => Record<string, string> }): Promise<Load> {
  const lat: number[] = [];
  const status = new Map<number, number>();
  const conn = new Map<string, number>();
  const t0 = nowMs();
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: `http://127.0.0.1:${o.port}`,
        connections: o.connections,
        amount: o.amount,
        timeout: 10,
        requests: [
          {
            method: o.method,
            path: o.path,
            ...(o.body !== undefined ? { body: o.body } : {}),
            // Called for every request autocannon builds, so no two carry the same nonce.
            setupRequest: (req: AcRequest) => ({ ...req, headers: { ...req.headers, ...o.headers() } }),
          },
        ],
        setupClient: (client: AcClient) => {
          client.on('response', (code, _bytes, ms) => {
            if (code >= 200 && code < 300) lat.push(ms);
            else status.set(code, (status.get(code) ?? 0) + 1);
          });
          client.on('connError', (e) => {
            const c = (e as NodeJS.ErrnoException | undefined)?.code ?? 'error';
            conn.set(c, (conn.get(c) ?? 0) + 1);
          });
        },
      },
      (err, res) => {
        clearTimeout(timer);
        if (err) return reject(err);
        const bad = [...status.values()].reduce((a, b) => a + b, 0);
        const ms = nowMs() - t0;
        resolve({
          lat,
          failed: bad + res.errors,
          rps: (lat.length * 1000) / ms,
          detail: `status ${[...status].map(([c, n]) => `${c}×${n}`).join(' ') || 'none bad'}; errors ${res.errors} (timeouts ${res.timeouts}${conn.size ? `; ${[...conn].map(([c, n]) => `${c}×${n}`).join(' ')}` : ''}); ${(ms / 1000).toFixed(1)} s`,
        });
      },
    );
    const timer = setTimeout(() => inst.stop(), HTTP_MAX_S * 1000);
  });
}

/** One connection to pmond's socket speaking raw frames: `list`, page after page, results unchecked. */
async function rawConnection(socket: string): Promise<{ listAll(): Promise<number>; close(): void }> {
  const s = net.connect(socket);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  const decoder = new FrameDecoder(MAX_REPLY_FRAME);
  const pending = new Map<number, { resolve(v: Record<string, unknown>): void; reject(e: Error): void }>();
  let nextId = 1;
  const failAll = (e: Error): void => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  s.on('data', (b: Buffer) => {
    for (const f of decoder.push(b) as Array<Record<string, unknown>>) {
      const p = pending.get(f.id as number);
      if (!p || f.event !== undefined) continue;
      pending.delete(f.id as number);
      if (f.ok === true) p.resolve(f.result as Record<string, unknown>);
      else p.reject(new Error(JSON.stringify(f.error).slice(0, 200)));
    }
  });
  s.on('error', failAll);
  s.on('close', () => failAll(new Error('pmond closed the connection')));
  const call = (method: string, params: unknown): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      s.write(encodeFrame({ v: PROTOCOL_VERSION, id, method, params }, MAX_REPLY_FRAME));
    });
  return {
    async listAll() {
      let n = 0;
      let after: number | null = 0;
      while (after !== null) {
        const page = await call('list', after ? { after } : {});
        n += (page.processes as unknown[]).length;
        after = page.next as number | null;
      }
      return n;
    },
    close: () => s.destroy(),
  };
}

/** The listing through the Unix socket: `connections` connections, each listing after listing, `amount` in all or HTTP_MAX_S. */
async function socketLoad(socket: string, connections: number, amount: number, want: number): Promise<Load> {
  const lat: number[] = [];
  let failed = 0;
  let started = 0;
  const errors: string[] = [];
  const t0 = nowMs();
  const deadline = t0 + HTTP_MAX_S * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = await rawConnection(socket);
      try {
        while (started < amount && nowMs() < deadline) {
          started++;
          const t = nowMs();
          try {
            const n = await c.listAll();
            if (n === want) lat.push(nowMs() - t);
            else {
              failed++;
              if (errors.length < 3) errors.push(`${n} of ${want} listed`);
            }
          } catch (e) {
            failed++;
            if (errors.length < 3) errors.push((e as Error).message);
          }
        }
      } finally {
        c.close();
      }
    }),
  );
  const ms = nowMs() - t0;
  return { lat, failed, rps: (lat.length * 1000) / ms, detail: `${errors.join('; ') || 'none failed'}; ${(ms / 1000).toFixed(1)} s` };
}

async function rssSamples(ctx: Ctx, row: string, pid: number): Promise<void> {
  await sleep(ctx.knobs.settleMs);
  for (let i = 0; i < HTTP_RSS_SAMPLES; i++) {
    const b = rssBytes(pid);
    if (b !== null) ctx.results.add(row, 'pmon3', b / 1024 / 1024);
    await sleep(ctx.knobs.rssGapMs);
  }
  ctx.log(`  pmon3 ${row}: ${ctx.results.get(row, 'pmon3')?.samples.map((v) => v.toFixed(1)).join(' ')} MiB`);
}

/** The socket rows and `pmon3 ls --json` on pm (recorded when keep is set; the HTTP-off pmond gets the same load, logged only). */
async function socketRows(ctx: Ctx, pm: Pmon3, n: number, amount: number, cliReps: number, keep: boolean): Promise<void> {
  await socketLoad(pm.socket, 1, 20, n); // warm-up, untimed
  for (const c of HTTP_CONNECTIONS) {
    const l = await socketLoad(pm.socket, c, amount, n);
    if (keep) record(ctx, httpRow.sock(c), 'pmon3', l);
    else ctx.log(`  pmon3, HTTP off, socket ${c} connection(s): p50 ${quantile(l.lat, 50).toFixed(2)} ms, p99 ${quantile(l.lat, 99).toFixed(2)} ms, ${l.lat.length} answered, ${l.failed} failed`);
  }
  const cli: number[] = [];
  for (let i = 0; i < cliReps; i++) {
    const r = await run(pm.listCmd(true));
    if (r.code !== 0) throw new Error(`pmon3 ls --json exited ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
    cli.push(r.ms / 1000);
  }
  if (keep) for (const v of cli) ctx.results.add(httpRow.cli, 'pmon3', v);
  else ctx.log(`  pmon3, HTTP off, ls --json: ${cli.map((v) => v.toFixed(3)).join(' ')} s`);
}

// Playwright's types are imported lazily (the bench runs without a browser too).
type Browser = import('playwright-core').BrowserContext;

/** How one first render went: ms from navigation (or from the login's submit) to the rows, and to the end of the frame that lays them out and paints them. */
interface Render {
  dom?: number;
  frame?: number;
  wall: number;
  note?: string;
  errors: string[];
}

/**
 * One fresh tab: navigate to url, optionally log in with pem, and wait until `n` elements match
 * selector. Timed in the page (performance.now(), from the navigation's start; a MutationObserver
 * set before any of the page's scripts), so Playwright's own round trips are not in it.
 */
async function firstRender(
  browser: Browser,
  url: string,
  o: { selector: string; n: number; session?: unknown; basic?: string; pem?: string },
): Promise<Render> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  const origin = new URL(url).origin;
  const script = `(() => {
    if (location.origin !== ${JSON.stringify(origin)}) return;
    const want = ${o.n}, sel = ${JSON.stringify(o.selector)};
    const b = (window.__pmb = { dom: null, frame: null, submit: null });
    ${o.session ? `sessionStorage.setItem(${JSON.stringify(SESSION_KEY)}, ${JSON.stringify(JSON.stringify(o.session))});` : ''}
    const mo = new MutationObserver(() => {
      if (b.dom !== null || document.querySelectorAll(sel).length < want) return;
      b.dom = performance.now();
      mo.disconnect();
      // rAF runs at the start of the next frame, before its style, layout and paint; a message
      // posted from it arrives once that frame is done.
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => { b.frame = performance.now(); };
        ch.port2.postMessage(0);
      });
    });
    mo.observe(document, { childList: true, subtree: true });
    document.addEventListener('submit', () => { if (b.submit === null) b.submit = performance.now(); }, true);
  })();`;
  try {
    if (o.basic) await page.setExtraHTTPHeaders({ authorization: o.basic });
    await page.addInitScript(script);
    const t0 = nowMs();
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: DASH_WAIT_MS });
    if (o.pem !== undefined) {
      const form = await page.waitForSelector('#pem', { timeout: DASH_WAIT_MS }).catch(() => null);
      if (!form) return { wall: nowMs() - t0, note: 'not measured: dashboard not built (no login form within 10 s)', errors };
      await page.fill('#pem', o.pem);
      await page.click('#login-button');
    }
    const ok = await until(page, 'window.__pmb && window.__pmb.dom !== null', t0 + DASH_WAIT_MS);
    const wall = nowMs() - t0;
    if (!ok) {
      const rows = (await page.evaluate(`document.querySelectorAll(${JSON.stringify(o.selector)}).length`)) as number;
      return { wall, note: rows === 0 ? 'not measured: dashboard not built (no tr[data-id] within 10 s)' : `only ${rows} of ${o.n} rows within 10 s`, errors };
    }
    await until(page, 'window.__pmb.frame !== null', nowMs() + 2000);
    const b = (await page.evaluate('window.__pmb')) as { dom: number; frame: number | null; submit: number | null };
    const from = o.pem !== undefined ? (b.submit ?? NaN) : 0;
    return { dom: b.dom - from, ...(b.frame !== null ? { frame: b.frame - from } : {}), wall, errors };
  } finally {
    await page.close().catch(() => undefined);
  }
}

/**
 * Whether expr became true in the page before deadline (nowMs). Polled from here every 20 ms; an
 * evaluation that fails (the document being replaced) is tried again.
 */
async function until(page: import('playwright-core').Page, expr: string, deadline: number): Promise<boolean> {
  while (nowMs() < deadline) {
    if (await page.evaluate(expr).catch(() => false)) return true;
    await sleep(20);
  }
  return false;
}

/** reps first renders into row of column; a page that never shows every row notes why and ends the row. */
async function renders(ctx: Ctx, row: string, column: string, reps: number, one: () => Promise<Render>): Promise<void> {
  for (let i = 0; i < reps; i++) {
    const r = await one();
    if (r.errors.length) ctx.log(`  ${column} ${row}: the page logged: ${r.errors.slice(0, 3).join(' | ')}`);
    if (r.dom === undefined) {
      ctx.log(`  ${column} ${row}: ${r.note} (${(r.wall / 1000).toFixed(1)} s)`);
      ctx.results.set(row, column, missing(r.note ?? 'failed'));
      return;
    }
    ctx.log(`  ${column} ${row} ${i + 1}: rows in the DOM at ${r.dom.toFixed(0)} ms, next frame done ${r.frame === undefined ? 'not within 2 s' : `at ${r.frame.toFixed(0)} ms`} (wall in this process ${r.wall.toFixed(0)} ms)`);
    ctx.results.add(httpRow.dom(row), column, r.dom);
    ctx.results.add(row, column, r.frame ?? r.dom);
  }
}

async function launchBrowser(ctx: Ctx): Promise<Browser | undefined> {
  if (!fs.existsSync(CHROMIUM)) return undefined;
  const { chromium } = await import('playwright-core');
  const userData = fs.mkdtempSync(path.join(ctx.dir, 'chromium-'));
  return chromium.launchPersistentContext(userData, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 }, timeout: 30_000 });
}

/** A fresh token for key, as the dashboard gets one. */
async function token(base: string, key: ReturnType<typeof parsePrivate>): Promise<{ token: string; expires_at: string; user: string }> {
  const post = async (p: string, body?: unknown): Promise<Record<string, unknown>> => {
    const r = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
    const v = (await r.json()) as Record<string, unknown>;
    if (!r.ok) throw new Error(`POST ${p}: ${r.status} ${JSON.stringify(v).slice(0, 200)}`);
    return v;
  };
  const ch = await post('/v1/auth/challenge');
  const t = await post('/v1/auth/login', { key: key.id, challenge: ch.challenge, signature: signChallenge(key, ch.challenge as string) });
  return { token: t.token as string, expires_at: t.expires_at as string, user: t.user as string };
}

/** The door's part on the HTTP-on pmond: the listing under load, the socket rows, RSS, the dashboard. */
async function pmon3On(ctx: Ctx, pm: Pmon3, port: number, keyFile: string, browser: Browser | undefined): Promise<void> {
  const { n, amount, dashReps, cliReps } = httpKnobs(ctx.knobs.quick);
  const base = `http://127.0.0.1:${port}`;
  const pem = fs.readFileSync(keyFile, 'utf8');
  const key = parsePrivate(pem);
  const sign = (): Record<string, string> => ({ authorization: authorization(key, 'GET', '/v1/processes', '') });
  // Untimed checks: the key sees all n, and a replayed header is refused.
  const h = sign();
  const first = await fetch(`${base}/v1/processes`, { headers: h });
  const listed = ((await first.json()) as { processes?: unknown[] }).processes?.length;
  if (first.status !== 200 || listed !== n) throw new Error(`GET /v1/processes: ${first.status}, ${listed} of ${n} processes`);
  const again = await fetch(`${base}/v1/processes`, { headers: h });
  ctx.log(`  pmon3: GET /v1/processes lists ${listed}; the same signed header again: ${again.status} (a replay must be refused)`);
  await again.arrayBuffer();
  await httpLoad({ port, connections: 1, amount: 50, method: 'GET', path: '/v1/processes', headers: sign }); // warm-up, untimed
  for (const c of HTTP_CONNECTIONS) record(ctx, httpRow.get(c), 'pmon3', await httpLoad({ port, connections: c, amount, method: 'GET', path: '/v1/processes', headers: sign }));
  await socketRows(ctx, pm, n, amount, cliReps, true);
  await rssSamples(ctx, httpRow.rssOn, pm.daemonPid());
  if (!browser) {
    for (const row of [httpRow.dashNav, httpRow.dashLogin]) ctx.results.set(row, 'pmon3', missing(`not measured: ${CHROMIUM} is not installed`));
    return;
  }
  const rows = { selector: 'table#procs tr[data-id]', n };
  await renders(ctx, httpRow.dashNav, 'pmon3', dashReps, async () => firstRender(browser, `${base}/`, { ...rows, session: await token(base, key) }));
  await renders(ctx, httpRow.dashLogin, 'pmon3', dashReps, () => firstRender(browser, `${base}/`, { ...rows, pem }));
  await rssSamples(ctx, httpRow.rssDash, pm.daemonPid());
}

/** supervisord's XML-RPC getAllProcessInfo and its web page, on an instance with an inet_http_server. */
async function supervisordPart(ctx: Ctx, browser: Browser | undefined): Promise<void> {
  const { n, amount, dashReps } = httpKnobs(ctx.knobs.quick);
  const port = await freePort();
  const inet = { port, username: 'bench', password: `pw${process.pid}` };
  const sv = new Supervisord(path.join(ctx.dir, 'http-s'), inet);
  ctx.own(sv);
  try {
    await sv.start();
    await populate(ctx, n, [sv]);
    const basic = `Basic ${Buffer.from(`${inet.username}:${inet.password}`).toString('base64')}`;
    const body = '<?xml version="1.0"?><methodCall><methodName>supervisor.getAllProcessInfo</methodName><params></params></methodCall>';
    const headers = (): Record<string, string> => ({ authorization: basic, 'content-type': 'text/xml' });
    const r = await fetch(`http://127.0.0.1:${port}/RPC2`, { method: 'POST', headers: headers(), body });
    const text = await r.text();
    const listed = text.split('<name>pid</name>').length - 1;
    if (r.status !== 200 || listed !== n) throw new Error(`supervisor.getAllProcessInfo: ${r.status}, ${listed} of ${n} processes: ${text.slice(0, 200)}`);
    ctx.log(`  supervisord: getAllProcessInfo lists ${listed} (${text.length} bytes)`);
    await httpLoad({ port, connections: 1, amount: 10, method: 'POST', path: '/RPC2', body, headers }); // warm-up, untimed
    for (const c of HTTP_CONNECTIONS) record(ctx, httpRow.get(c), 'supervisord', await httpLoad({ port, connections: c, amount, method: 'POST', path: '/RPC2', body, headers }));
    if (browser) {
      await renders(ctx, httpRow.dashNav, 'supervisord', dashReps, () => firstRender(browser, `http://127.0.0.1:${port}/`, { selector: 'table tbody tr', n, basic }));
    }
  } finally {
    await clearAll(ctx, [sv]).catch(() => undefined);
    await sv.shutdown();
  }
}

export async function httpWorkload(ctx: Ctx): Promise<void> {
  const { n, amount, cliReps } = httpKnobs(ctx.knobs.quick);
  const columns = daemons(ctx).map((m) => m.name);
  const rows = [...HTTP_CONNECTIONS.map(httpRow.get), httpRow.dashNav];
  if (columns.includes('PM2')) for (const row of rows) ctx.results.set(row, 'PM2', missing('not measured: no equivalent (no signed HTTP API, no dashboard of its own)'));
  if (!columns.includes('pmon3')) return;
  const keyFile = path.join(ctx.dir, 'http-bench.key');
  const gen = await runOk({ file: PMON3, args: ['key', 'gen', keyFile, '--json'] });
  const publicKey = (JSON.parse(gen.stdout) as { public_key: string }).public_key;

  let browser: Browser | undefined;
  try {
    // 1. The door off: the same processes and socket load, for the RSS it is compared with.
    const off = new Pmon3(path.join(ctx.dir, 'http-off'));
    ctx.own(off);
    try {
      await off.start();
      await populate(ctx, n, [off]);
      await socketRows(ctx, off, n, amount, cliReps, false);
      await rssSamples(ctx, httpRow.rssOff, off.daemonPid());
    } finally {
      await clearAll(ctx, [off]).catch(() => undefined);
      await off.shutdown();
    }

    // 2. The door on.
    const port = await freePort();
    const on = new Pmon3(path.join(ctx.dir, 'http-on'), {
      http: { listen: `127.0.0.1:${port}`, keys: [{ name: 'bench', public_key: publicKey, user: os.userInfo().username, role: 'operator', rate: 100_000 }] },
    });
    ctx.own(on);
    try {
      await on.start();
      if (!on.daemonOutput().includes(`http: listening on http://127.0.0.1:${port}`)) throw new Error(`the HTTP door is not up: ${on.daemonOutput().trim().slice(-300)}`);
      await populate(ctx, n, [on]);
      browser = await launchBrowser(ctx);
      await pmon3On(ctx, on, port, keyFile, browser);
    } finally {
      await clearAll(ctx, [on]).catch(() => undefined);
      await on.shutdown();
    }

    // 3. supervisord's HTTP, if it is a column.
    if (columns.includes('supervisord')) await supervisordPart(ctx, browser);
  } finally {
    await browser?.close().catch(() => undefined);
  }
}
