/**
 * The reload workload: a rolling reload of one node HTTP app (bench/fixtures/http-app.js, the same
 * file for every manager) of 4 instances on one port, under load from autocannon (programmatic,
 * in this process, 127.0.0.1 only, 20 connections, bounded in time).
 *
 * - pmon3: the 4 instances on a socket pmond binds (fd 3 in each), `ready: notify`, max_surge 2;
 *   `pmon3 reload web`.
 * - PM2: cluster mode, 4 instances, `wait_ready` (the app's process.send('ready')); `pm2 reload web`.
 * - supervisord has no rolling reload: "no equivalent".
 *
 * For each connection mode (keep-alive, autocannon's default; `Connection: close`, a new
 * connection per request): steady state first (no reload, BENCH steady seconds): requests/s,
 * p50 and p99 latency, failed requests. Then `reps` reload windows per manager, interleaved: load
 * for the window, the reload command issued 3 s in; failed requests over the window (connection
 * errors incl. resets and refusals, timeouts, non-2xx, and requests whose connection the server
 * closed before answering them, which autocannon itself does not count), p99 latency over the
 * window, the time until the command returned and until every new instance (its pid, from the
 * manager once the command returned) has answered a request (the pid is in every answer; a probe
 * opens a new connection every 10 ms besides the load, so an instance no kept-alive connection
 * happens to reach is still seen; its requests count as the load's).
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import * as path from 'node:path';
import { freePort, nowMs, run, sleep } from './lib/proc';
import { missing, quantile } from './lib/stats';
import type { Manager } from './managers/manager';
import { FIXTURES, type Ctx, daemons } from './workloads';

export const HTTP_APP = path.join(FIXTURES, 'http-app.js');
export const RELOAD_MODES = ['ka', 'close'] as const;
export type ReloadMode = (typeof RELOAD_MODES)[number];
export const RELOAD_INSTANCES = 4;
export const RELOAD_CONNECTIONS = 20;
/** When the reload command is issued, after the window's load started. */
export const RELOAD_AT_S = 3;

/** Row ids: steady state (p99 as its samples; rps, p50, failed beside it), and the reload windows. */
export const reloadRow = {
  steady: (m: ReloadMode) => `reload.steady.${m}`,
  steadyRps: (m: ReloadMode) => `reload.steady.${m}.rps`,
  steadyP50: (m: ReloadMode) => `reload.steady.${m}.p50`,
  steadyFailed: (m: ReloadMode) => `reload.steady.${m}.failed`,
  failed: (m: ReloadMode) => `reload.failed.${m}`,
  failedNote: (m: ReloadMode) => `reload.failed.${m}.detail`,
  p99: (m: ReloadMode) => `reload.p99.${m}`,
  cmd: (m: ReloadMode) => `reload.cmd.${m}`,
  served: (m: ReloadMode) => `reload.served.${m}`,
};

export function reloadKnobs(quick: boolean): { steadyS: number; windowS: number; reps: number } {
  return quick ? { steadyS: 5, windowS: 10, reps: 3 } : { steadyS: 10, windowS: 15, reps: 3 };
}

// autocannon has no types of its own: the part of its API used here.
interface AcResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
  requests: { average: number; total: number; sent: number };
}
interface AcClient {
  conn: net.Socket;
  pipelinedRequests: { clear(): void };
  _connect(): void;
  _doRequest(...a: unknown[]): void;
  on(ev: 'request', f: () => void): void;
  on(ev: 'headers', f: (h: { shouldKeepAlive: boolean }) => void): void;
  on(ev: 'response', f: (status: number, bytes: number, ms: number) => void): void;
  on(ev: 'timeout' | 'connError', f: (e?: Error) => void): void;
}
interface AcInstance {
  stop(): void;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, res: AcResult) => void) => AcInstance;
const autocannon = require('autocannon') as Autocannon;

/** What one run of load saw. */
interface Load {
  /** Every answer's latency in ms (2xx), for p50/p99 at full resolution. */
  lat: number[];
  /** pid → first time (nowMs) it answered. */
  firstSeen: Map<number, number>;
  /** Requests the server closed the connection under before answering (not counted by autocannon). */
  dropped: number;
  /** Probe requests, and the failed ones. */
  probes: number;
  probeFailed: number;
  probeErrors: string[];
  errCodes: Map<string, number>;
  result?: AcResult;
}

function failed(l: Load): number {
  const r = l.result!;
  return r.errors + r.non2xx + l.dropped + l.probeFailed; // autocannon's errors include its timeouts
}

function detail(l: Load): string {
  const r = l.result!;
  const codes = [...l.errCodes].map(([c, n]) => `${c} ${n}`).join(', ');
  return `errors ${r.errors} (timeouts ${r.timeouts}${codes ? `; ${codes}` : ''}), non-2xx ${r.non2xx}, closed unanswered ${l.dropped}, probe ${l.probeFailed}/${l.probes}`;
}

const pidOf = (body: string): number => Number(/"pid":(\d+)/.exec(body)?.[1] ?? 0);

/** One request on a new connection (the probe); its pid, or the error. */
function probeOnce(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? pidOf(body) || `bad body ${body.slice(0, 40)}` : `status ${res.statusCode}`));
      res.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/**
 * Load on port until stop() (or maxS): autocannon with RELOAD_CONNECTIONS connections, plus the
 * pid probe when probe is set.
 */
function startLoad(port: number, mode: ReloadMode, maxS: number, probe: boolean): { load: Load; stop(): Promise<Load> } {
  const load: Load = { lat: [], firstSeen: new Map(), dropped: 0, probes: 0, probeFailed: 0, probeErrors: [], errCodes: new Map() };
  const seen = (pid: number): void => {
    if (pid && !load.firstSeen.has(pid)) load.firstSeen.set(pid, nowMs());
  };
  const setupClient = (client: AcClient): void => {
    let inflight = 0;
    client.on('request', () => void inflight++);
    client.on('response', (status, _bytes, ms) => {
      inflight = Math.max(0, inflight - 1);
      if (status >= 200 && status < 300) load.lat.push(ms);
    });
    // autocannon reconnects after a timeout or a connection error (both counted by it).
    client.on('timeout', () => void (inflight = 0));
    client.on('connError', (e) => {
      inflight = 0;
      const code = (e as NodeJS.ErrnoException | undefined)?.code ?? 'error';
      load.errCodes.set(code, (load.errCodes.get(code) ?? 0) + 1);
    });
    // autocannon sends the next request on a connection whose answer said `Connection: close`
    // (and then keeps that request's stale entry in its queue, so later latencies start from it).
    // An HTTP client does not: after such an answer no request is sent until it has reconnected
    // (autocannon reconnects when the server ends the connection).
    let closing = false;
    client.on('headers', (h) => {
      if (!h.shouldKeepAlive) closing = true;
    });
    const doRequest = client._doRequest;
    client._doRequest = function (this: AcClient, ...a: unknown[]) {
      if (!closing) doRequest.apply(this, a);
    };
    // A connection the server ends (FIN) with a request unanswered: autocannon silently reconnects
    // and sends again; the request is lost all the same. Counted here (before autocannon's own
    // 'end' handler reconnects and sends the next request).
    const connect = client._connect;
    client._connect = function (this: AcClient) {
      closing = false;
      connect.call(this);
      this.conn.prependListener('end', () => {
        load.dropped += inflight;
        inflight = 0;
        this.pipelinedRequests.clear(); // what autocannon does on a timeout: no stale start times
      });
    };
  };
  let done!: (l: Load) => void;
  const finished = new Promise<Load>((r) => (done = r));
  const inst = autocannon(
    {
      url: `http://127.0.0.1:${port}/`,
      connections: RELOAD_CONNECTIONS,
      duration: maxS,
      timeout: 3,
      ...(mode === 'close' ? { headers: { connection: 'close' } } : {}),
      requests: [{ method: 'GET', path: '/', onResponse: (status: number, body: string) => status === 200 && seen(pidOf(body)) }],
      setupClient,
    },
    (err, res) => {
      if (err) load.probeErrors.push(`autocannon: ${err.message}`);
      load.result = res;
      done(load);
    },
  );
  let probing = probe;
  const prober = (async () => {
    while (probing) {
      const r = await probeOnce(port);
      load.probes++;
      if (typeof r === 'number') seen(r);
      else {
        load.probeFailed++;
        if (load.probeErrors.length < 5) load.probeErrors.push(r);
      }
      await sleep(10);
    }
  })();
  return {
    load,
    stop: async () => {
      probing = false;
      await prober;
      inst.stop();
      return finished;
    },
  };
}

const fmtMs = (v: number): string => `${v.toFixed(2)} ms`;

/** Steady state: load for steadyS, no reload. */
async function steady(ctx: Ctx, m: Manager, port: number, mode: ReloadMode, steadyS: number): Promise<void> {
  const l = startLoad(port, mode, steadyS, false);
  await sleep(steadyS * 1000 + 500); // autocannon ends itself after steadyS
  const load = await l.stop();
  const r = load.result!;
  const p50 = quantile(load.lat, 50);
  const p99 = quantile(load.lat, 99);
  ctx.results.add(reloadRow.steady(mode), m.name, p99);
  ctx.results.add(reloadRow.steadyRps(mode), m.name, r.requests.average);
  ctx.results.add(reloadRow.steadyP50(mode), m.name, p50);
  ctx.results.add(reloadRow.steadyFailed(mode), m.name, failed(load));
  ctx.log(`  ${m.name} steady (${mode}): ${r.requests.average.toFixed(0)} req/s, p50 ${fmtMs(p50)}, p99 ${fmtMs(p99)}, ${detail(load)}`);
}

/** One reload window: load, the reload command RELOAD_AT_S in, until every new pid answered and windowS passed. */
async function window(ctx: Ctx, m: Manager, name: string, port: number, mode: ReloadMode, windowS: number, rep: number): Promise<void> {
  const ra = m.rollingApps!;
  const old = new Set(await ra.instancePids(name));
  const l = startLoad(port, mode, windowS + 60, true);
  const started = nowMs();
  await sleep(RELOAD_AT_S * 1000);
  const t0 = nowMs();
  const r = await run(ra.reloadCmd(name), 120_000);
  const cmdMs = nowMs() - t0;
  const fresh = r.code === 0 ? (await ra.instancePids(name)).filter((p) => !old.has(p)) : [];
  // Until every new instance answered (at most 20 s past the window), and the window is over.
  const deadline = started + (windowS + 20) * 1000;
  const allSeen = (): boolean => fresh.length === RELOAD_INSTANCES && fresh.every((p) => l.load.firstSeen.has(p));
  while (nowMs() < deadline && !(allSeen() && nowMs() - started >= windowS * 1000)) await sleep(20);
  const load = await l.stop();
  const f = failed(load);
  const p99 = quantile(load.lat, 99);
  const servedMs = allSeen() ? Math.max(...fresh.map((p) => load.firstSeen.get(p)!)) - t0 : undefined;
  ctx.log(
    `  ${m.name} reload (${mode}) ${rep + 1}: exit ${r.code} in ${(cmdMs / 1000).toFixed(2)} s, ${fresh.length} new pids, ` +
      `all answered ${servedMs === undefined ? 'NOT within the window' : `after ${(servedMs / 1000).toFixed(2)} s`}; ` +
      `${load.result!.requests.total} answered, failed ${f} (${detail(load)}), p99 ${fmtMs(p99)}${load.probeErrors.length ? `; first errors: ${load.probeErrors.join(', ')}` : ''}`,
  );
  if (r.code !== 0) {
    ctx.log(`  ${m.name} reload: ${(r.stderr || r.stdout).trim().slice(0, 300)}`);
    for (const row of [reloadRow.failed(mode), reloadRow.p99(mode), reloadRow.cmd(mode), reloadRow.served(mode)]) {
      ctx.results.set(row, m.name, missing(`failed (exit ${r.code})`));
    }
    return;
  }
  ctx.results.add(reloadRow.failed(mode), m.name, f);
  ctx.results.add(reloadRow.p99(mode), m.name, p99);
  ctx.results.add(reloadRow.cmd(mode), m.name, cmdMs / 1000);
  if (servedMs !== undefined) ctx.results.add(reloadRow.served(mode), m.name, servedMs / 1000);
  else ctx.results.set(reloadRow.served(mode), m.name, missing(`not every new instance answered (${fresh.length} new)`));
  if (f > 0) {
    const prev = ctx.results.get(reloadRow.failedNote(mode), m.name)?.note;
    ctx.results.set(reloadRow.failedNote(mode), m.name, missing(`${prev ? `${prev}; ` : ''}run ${rep + 1}: ${detail(load)}`));
  }
}

export async function reloadWorkload(ctx: Ctx): Promise<void> {
  const { steadyS, windowS, reps } = reloadKnobs(ctx.knobs.quick);
  const name = 'web';
  const apps: Array<{ m: Manager; port: number }> = [];
  for (const m of daemons(ctx)) {
    if (!m.rollingApps) {
      for (const mode of RELOAD_MODES) {
        for (const row of [reloadRow.steady(mode), reloadRow.failed(mode), reloadRow.p99(mode), reloadRow.cmd(mode), reloadRow.served(mode)]) {
          ctx.results.set(row, m.name, missing('no equivalent (no rolling reload)'));
        }
      }
      continue;
    }
    await m.clear();
    const port = await freePort();
    const t0 = nowMs();
    await m.rollingApps.deploy({ name, script: HTTP_APP, instances: RELOAD_INSTANCES, port });
    ctx.log(`  ${m.name}: ${RELOAD_INSTANCES} instances of ${name} on 127.0.0.1:${port} ready (${((nowMs() - t0) / 1000).toFixed(1)} s, untimed)`);
    apps.push({ m, port });
  }
  try {
    for (const mode of RELOAD_MODES) {
      for (const { m, port } of apps) {
        const warm = startLoad(port, mode, 1, false); // JIT and connections warmed up, untimed
        await sleep(1500);
        await warm.stop();
        await steady(ctx, m, port, mode, steadyS);
      }
      for (let rep = 0; rep < reps; rep++) {
        for (const { m, port } of apps) {
          try {
            await window(ctx, m, name, port, mode, windowS, rep);
          } catch (e) {
            ctx.log(`  ${m.name} reload (${mode}) ${rep + 1}: ${(e as Error).message}`);
            ctx.results.set(reloadRow.failed(mode), m.name, missing('failed'));
          }
          await sleep(1000);
        }
      }
    }
  } finally {
    for (const { m } of apps) await m.clear().catch(() => undefined);
  }
}
