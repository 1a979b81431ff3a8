/**
 * The HTTP API end to end: every /v1 resource, the protocol over /v1/rpc, streamed logs and
 * events, /metrics scraped and parsed, the OpenAPI document, a Unix-socket listen, and the CLI
 * around it: key gen/show, --host and `on` with two pmonds as two hosts, stat, attach, monit,
 * shell.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { METHODS } from '../../internal/protocol/methods';
import { ROUTES } from '../../internal/http/routes';
import { PMON3, TestDaemon } from '../helpers/daemon';
import { loadKey, openStream, request, type Key } from '../helpers/http';
import { freePort } from '../helpers/net';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

let a: TestDaemon;
let b: TestDaemon;
let portA: number;
let portB: number;
let dir: string;
let opKey: Key;
let hostsFile: string;
let unixHttp: string;
const me = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();

function gen(name: string): { file: string; pub: string } {
  const file = path.join(dir, 'keys', `${name}.key`);
  const out = JSON.parse(execFileSync(PMON3, ['key', 'gen', file, '--json'], { encoding: 'utf8' })) as { public_key: string };
  return { file, pub: out.public_key };
}

before(async () => {
  dir = tempDir('pma-', 0o755);
  portA = await freePort();
  portB = await freePort();
  const op = gen('ops');
  unixHttp = path.join(dir, 'http.sock');
  const httpConf = (listen: string) => ({ listen, keys: [{ name: 'ops', public_key: op.pub, user: me, role: 'admin' }] });
  a = await TestDaemon.start({ config: { http: httpConf(`127.0.0.1:${portA}`), stats_interval: 1 } });
  b = await TestDaemon.start({ config: { http: httpConf(`127.0.0.1:${portB}`) } });
  opKey = loadKey(op.file);
  hostsFile = path.join(dir, 'hosts.yaml');
  fs.writeFileSync(hostsFile, `hosts:\n  ha: { url: "http://127.0.0.1:${portA}", key: "${op.file}" }\n  hb: { url: "http://127.0.0.1:${portB}", key: "${op.file}" }\n  down: { url: "http://127.0.0.1:1", key: "${op.file}" }\n`, { mode: 0o600 });
  await a.json(['exec', '/bin/sleep', '--name', 'web', '--', '300']);
  await b.json(['exec', '/bin/sleep', '--name', 'web', '--', '300']);
});

after(async () => {
  await a?.stop();
  await b?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cli = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const c = execFile(PMON3, args, { env: { ...process.env, PMON3_CONF: a.conf, PMON3_HOSTS: hostsFile, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) c.stdin!.end(input);
  });

describe('/v1 resources', () => {
  test('info, processes, one process, exec, start, stop, restart, reset, delete', async () => {
    const info = await request(portA, '/v1/info', { key: opKey });
    assert.equal(info.status, 200);
    assert.equal(info.json.pid, a.pid);
    const list = await request(portA, '/v1/processes', { key: opKey });
    assert.deepEqual(list.json.processes.map((p: any) => p.name), ['web']);
    assert.equal(list.json.processes[0].env, undefined, 'the listing carries no environment');
    const full = await request(portA, '/v1/processes?fields=full', { key: opKey });
    assert.ok('env' in full.json.processes[0] && 'args' in full.json.processes[0], 'fields=full: everything');
    const made = await request(portA, '/v1/processes', { method: 'POST', key: opKey, body: { file: '/bin/sleep', name: 'api', args: ['300'], env: {}, cwd: '/tmp', auto_restart: true } });
    assert.equal(made.status, 200, made.text);
    assert.equal(made.json.name, 'api');
    a.seenPids.add(made.json.pid);
    const one = await request(portA, '/v1/processes/api', { key: opKey });
    assert.equal(one.json.id, made.json.id);
    // The listing pmond keeps a moment (listing-cache.ts) never hides a change: asked right after each.
    const listed = async (): Promise<any> => (await request(portA, '/v1/processes', { key: opKey })).json.processes.find((p: any) => p.name === 'api');
    assert.equal((await listed()).pid, made.json.pid);
    const stopped = await request(portA, '/v1/processes/api/stop', { method: 'POST', key: opKey });
    assert.equal(stopped.json.status, 'stopped');
    assert.equal((await listed()).status, 'stopped');
    const started = await request(portA, '/v1/processes/api/start', { method: 'POST', key: opKey });
    assert.ok(['running', 'starting'].includes(started.json.status), started.text);
    assert.equal(started.json.restarts, 0);
    const restarted = await request(portA, '/v1/processes/api/restart', { method: 'POST', key: opKey });
    assert.equal(restarted.json.restarts, 1);
    assert.equal((await listed()).restarts, 1);
    a.seenPids.add(restarted.json.pid);
    const reset = await request(portA, '/v1/processes/api/reset', { method: 'POST', key: opKey });
    assert.equal(reset.status, 200, reset.text);
    const gone = await request(portA, '/v1/processes/api?force=1', { method: 'DELETE', key: opKey });
    assert.equal(gone.status, 200, gone.text);
    assert.equal((await request(portA, '/v1/processes/api', { key: opKey })).status, 404);
    assert.equal(await listed(), undefined);
  });

  test('apps: apply, list, scale, rolling reload; groups', async () => {
    const spec = { name: 'pool', file: '/bin/sleep', args: ['300'], env: {}, cwd: '/tmp', groups: ['pools'], instances: 1, dependencies: [], autostart: true, restart: 'always', source: 'http' };
    const applied = await request(portA, '/v1/apps', { method: 'POST', key: opKey, body: { apps: [spec], files: [], prune: false, dry_run: false } });
    assert.equal(applied.status, 200, applied.text);
    const apps = await request(portA, '/v1/apps', { key: opKey });
    assert.ok(apps.json.apps.some((x: any) => x.name === 'pool'), apps.text);
    const scaled = await request(portA, '/v1/apps/pool/scale', { method: 'POST', key: opKey, body: { count: 2 } });
    assert.equal(scaled.status, 200, scaled.text);
    await a.waitProc('pool:1', 'running', (p) => p.status === 'running');
    const reloaded = await request(portA, '/v1/apps/pool/reload', { method: 'POST', key: opKey });
    assert.equal(reloaded.status, 200, reloaded.text);
    assert.equal(reloaded.json.replaced, 2);
    const groups = await request(portA, '/v1/groups', { key: opKey });
    assert.equal(groups.status, 200, groups.text);
    for (const p of await a.ls()) if (p.name.startsWith('pool')) a.seenPids.add(p.pid);
    const del = await a.run(['del', 'pool', '-f']);
    assert.equal(del.code, 0, del.stderr);
    await waitFor('the pool to be gone', async () => !(await a.ls()).some((p) => p.name.startsWith('pool')), 15_000);
  });

  test("logs: the last lines, and ?follow=1 streams what is appended", async () => {
    const talker = await a.json(['exec', '/bin/sh', '--name', 'talker', '--', '-c', 'echo first; while read x; do :; done < /dev/null; echo second; sleep 300']);
    await waitFor('talker to write', async () => (await request(portA, '/v1/logs/talker?lines=5', { key: opKey })).json?.text?.includes('second'), 10_000);
    const s = openStream(portA, '/v1/logs/talker?lines=1&follow=1', opKey);
    assert.equal(await s.status, 200);
    await waitFor('the followed log to send its last line', () => s.lines.some((l) => l.includes('second')), 10_000);
    s.close();
    a.seenPids.add(talker.pid);
    await a.run(['del', 'talker', '-f']);
  });

  test('/v1/events streams status changes and restarts, as NDJSON and as SSE', async () => {
    const nd = openStream(portA, '/v1/events', opKey);
    const sse = openStream(portA, '/v1/events', opKey, { Accept: 'text/event-stream' });
    assert.equal(await nd.status, 200);
    assert.equal(await sse.status, 200);
    // Both subscribed once their headers came; a restart now is seen by both.
    await a.run(['restart', 'web']);
    await waitFor('an NDJSON restart event', () => nd.lines.some((l) => l && JSON.parse(l).event === 'restart' && JSON.parse(l).process.name === 'web'), 10_000);
    await waitFor('an NDJSON status event', () => nd.lines.some((l) => l && JSON.parse(l).event === 'status' && JSON.parse(l).process.to === 'running'), 10_000);
    await waitFor('an SSE data line', () => sse.lines.some((l) => l.startsWith('data: ') && JSON.parse(l.slice(6)).process.name === 'web'), 10_000);
    nd.close();
    sse.close();
    a.seenPids.add((await a.get('web')).pid);
  });

  test('stats: points every stats_interval, at each resolution', async () => {
    const st = await waitFor('a sample of web', async () => {
      const r = await request(portA, '/v1/stats?res=1', { key: opKey });
      const web = r.json?.series?.find((x: any) => x.name === 'web');
      return web && web.memory.some((v: number | null) => v !== null) ? r.json : undefined;
    }, 15_000, 200);
    assert.equal(st.points, 60);
    assert.equal(st.interval_ms, 1000);
    assert.equal(st.series[0].cpu.length, 60);
    assert.equal((await request(portA, '/v1/stats?res=7', { key: opKey })).status, 400);
    const chart = await cli(['stat', 'web', 'rss']);
    assert.equal(chart.code, 0, chart.stderr);
    assert.match(chart.stdout, /web \(id \d+\) RSS, 1 min per point/);
    assert.match(chart.stdout, /┤/);
    const bad = await cli(['stat', 'web', 'cpu', '7']);
    assert.equal(bad.code, 2);
  });

  test('/v1/rpc reaches every method of the protocol table; /v1/whoami', async () => {
    const ping = await request(portA, '/v1/rpc/ping', { method: 'POST', key: opKey, body: {} });
    assert.equal(ping.json.ok, true);
    assert.ok(ping.json.result.capabilities.includes('stats'));
    const who = await request(portA, '/v1/whoami', { key: opKey });
    assert.deepEqual({ name: who.json.name, role: who.json.role, via: who.json.via }, { name: 'ops', role: 'admin', via: 'signature' });
  });
});

describe('metrics and OpenAPI', () => {
  test('/metrics: pmond and every instance, in the text format Prometheus parses', async () => {
    const r = await request(portA, '/metrics', { key: opKey });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/plain/);
    const samples = new Map<string, number>();
    for (const line of r.text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$/.exec(line);
      assert.ok(m, `a sample line: ${line}`);
      samples.set(m[1]! + (m[2] ?? ''), Number(m[3]));
    }
    const web = [...samples.keys()].filter((k) => k.includes('name="web"'));
    for (const name of ['pmon3_process_restarts', 'pmon3_process_ready', 'pmon3_process_uptime_seconds', 'pmon3_process_memory_bytes']) {
      assert.ok(web.some((k) => k.startsWith(name)), `${name} for web`);
    }
    assert.equal(samples.get([...samples.keys()].find((k) => k.startsWith('pmon3_process_status') && k.includes('name="web"') && k.includes('status="running"'))!), 1);
    assert.ok(samples.get('pmond_process_resident_memory_bytes')! > 1e6);
    assert.ok([...samples.keys()].some((k) => k.startsWith('pmond_http_request_duration_seconds_bucket')));
    assert.ok(samples.has('pmond_hooks_queued'));
  });

  test('/v1/openapi.json: every route and every protocol method, with schemas', async () => {
    const r = await request(portA, '/v1/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.json.openapi, '3.1.0');
    for (const route of ROUTES) {
      const p = route.path.replace(/:([a-z]+)/g, '{$1}');
      assert.ok(r.json.paths[p]?.[route.verb.toLowerCase()], `${route.verb} ${p}`);
    }
    for (const m of Object.keys(METHODS)) assert.ok(r.json.paths[`/v1/rpc/${m}`]?.post?.requestBody, m);
    assert.ok(r.json.paths['/v1/processes'].post.requestBody.content['application/json'].schema.properties.file);
  });
});

describe('config: a wrong key stops the start in one line; a busy port leaves pmond up without the door', () => {
  test('a public key that is not one, an unknown user, a bad role', async () => {
    for (const [keys, pattern] of [
      [[{ name: 'x', public_key: 'pmon3-ed25519 nope', user: me, role: 'admin' }], /http.keys: x: public key "pmon3-ed25519 nope" is not/],
      [[{ name: 'x', public_key: 'pmon3-ed25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', user: 'no-such-user-here', role: 'admin' }], /http.keys: x: user "no-such-user-here"/],
      [[{ name: 'x', public_key: 'pmon3-ed25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', user: me, role: 'root' }], /http\.keys\.0\.role/],
      [[{ name: '$(id)', public_key: 'pmon3-ed25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', user: me, role: 'admin' }], /http\.keys\.0\.name/],
    ] as const) {
      const e = await TestDaemon.start({ config: { http: { listen: `127.0.0.1:${await freePort()}`, keys: keys as unknown as Record<string, unknown>[] } as Record<string, unknown> } }).then(
        async (d) => {
          await d.stop();
          return null;
        },
        (err: Error) => err,
      );
      assert.ok(e, `refused: ${JSON.stringify(keys)}`);
      assert.match(e.message, pattern);
    }
  });
  test('the port taken: pmond serves its socket and pmond.log says why there is no HTTP', async () => {
    const d = await TestDaemon.start({ config: { http: { listen: `127.0.0.1:${portA}`, keys: [] } } });
    try {
      assert.equal((await d.run(['info'])).code, 0);
      await waitFor('the line in pmond.log', () => /http: not listening on 127\.0\.0\.1:\d+ \(.*EADDRINUSE/.test(fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8')), 10_000);
    } finally {
      await d.stop();
    }
  });
});

describe('a Unix-socket listen: the kernel says who calls', () => {
  let u: TestDaemon | undefined;
  before(async () => {
    u = await TestDaemon.start({ config: { http: { listen: unixHttp, keys: [] } } });
  });
  after(async () => u?.stop());
  test('curl --unix-socket style requests need no key; the caller is the peer', async () => {
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ socketPath: unixHttp, path: '/v1/whoami', agent: false }, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(JSON.parse(r.text).via, 'peercred');
    assert.equal(JSON.parse(r.text).uid, process.getuid!());
    assert.equal(fs.statSync(unixHttp).mode & 0o777, 0o666);
  });
});

describe('the CLI around it', () => {
  test('key gen writes a 0600 key, never over one; key show gives the same public line', async () => {
    const file = path.join(dir, 'keys', 'new.key');
    const made = await cli(['key', 'gen', file, '--json']);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const again = await cli(['key', 'gen', file]);
    assert.equal(again.code, 4);
    assert.match(again.stderr, /exists \(a key is never overwritten\)/);
    const shown = await cli(['key', 'show', file, '--json']);
    assert.equal(JSON.parse(shown.stdout).public_key, JSON.parse(made.stdout).public_key);
  });

  test('--host twice and `on`: one command on two pmonds, a host column, per-host exits', async () => {
    const ls = await cli(['ls', '--host', 'ha', '--host', 'hb']);
    assert.equal(ls.code, 0, ls.stderr);
    const rows = ls.stdout.split('\n').filter((l) => l.includes('web'));
    assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]).sort(), ['ha', 'hb']);
    const before = { a: (await a.get('web')).restarts, b: (await b.get('web')).restarts };
    const rs = await cli(['restart', 'web', 'on', 'ha', 'on', 'hb']);
    assert.equal(rs.code, 0, rs.stderr);
    assert.equal((await a.get('web')).restarts, before.a + 1);
    assert.equal((await b.get('web')).restarts, before.b + 1);
    a.seenPids.add((await a.get('web')).pid);
    b.seenPids.add((await b.get('web')).pid);
    const j = await cli(['ls', '--json', 'on', 'ha, hb, down']);
    assert.equal(j.code, 7, 'the first failed host decides: down is unreachable');
    const merged = JSON.parse(j.stdout) as Array<{ host: string; exit: number; result?: any; error?: any }>;
    assert.deepEqual(merged.map((m) => [m.host, m.exit]), [['ha', 0], ['hb', 0], ['down', 7]]);
    assert.equal(merged[0]!.result[0].name, 'web');
    assert.equal(merged[2]!.error.code, 'UNAVAILABLE');
    const unknown = await cli(['ls', '--host', 'nowhere']);
    assert.equal(unknown.code, 3);
    assert.match(unknown.stderr, /host nowhere is not in/);
    const badName = await cli(['ls', '--host', '$(id)']);
    assert.equal(badName.code, 2);
  });

  test('a hosts file others can write, or a key file others can read, is refused', async () => {
    fs.chmodSync(hostsFile, 0o666);
    const r = await cli(['ls', '--host', 'ha']);
    fs.chmodSync(hostsFile, 0o600);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /writable by others/);
    const keyFile = path.join(dir, 'keys', 'ops.key');
    fs.chmodSync(keyFile, 0o644);
    const k = await cli(['ls', '--host', 'ha']);
    fs.chmodSync(keyFile, 0o600);
    assert.equal(k.code, 5);
    assert.match(k.stderr, /readable by others/);
  });

  test('attach streams new output; --stdin is refused in one line', async () => {
    const p = await a.json(['exec', '/bin/sh', '--name', 'ticker', '--', '-c', 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.2; done']);
    a.seenPids.add(p.pid);
    const child = spawn(PMON3, ['attach', 'ticker'], { env: { ...process.env, PMON3_CONF: a.conf } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor('attach to print a tick', () => /ticker\s+\| tick \d+/.test(out), 10_000);
    child.kill('SIGINT');
    await new Promise((r) => child.once('close', r));
    const st = await cli(['attach', 'ticker', '--stdin']);
    assert.equal(st.code, 6);
    assert.equal(st.stderr.trim().split('\n').length, 1);
    await a.run(['del', 'ticker', '-f']);
  });

  test('ls --watch: a new table at each change, from the events stream', async () => {
    const child = spawn(PMON3, ['ls', '--watch', '--json'], { env: { ...process.env, PMON3_CONF: a.conf } });
    const lines: any[] = [];
    let part = '';
    child.stdout.on('data', (c: Buffer) => {
      part += c.toString();
      let i: number;
      while ((i = part.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(part.slice(0, i)));
        part = part.slice(i + 1);
      }
    });
    try {
      const first = await waitFor('the first table', () => lines[0], 10_000);
      const n = first.find((p: any) => p.name === 'web').restarts;
      await a.run(['restart', 'web']);
      await waitFor('a table with the restart', () => lines.some((l) => l.find((p: any) => p.name === 'web')?.restarts === n + 1), 10_000);
      a.seenPids.add((await a.get('web')).pid);
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('close', r));
    }
  });

  test('attach --stdin: what is piped reaches an app with stdin: true; no EOF when pmond is killed; bounds and owners', async () => {
    const file = path.join(dir, 'repl.yaml');
    fs.writeFileSync(file, 'apps:\n  - { name: repl, exec: /bin/cat, stdin: true }\n');
    assert.equal((await a.run(['apply', '-f', file])).code, 0);
    const first = await a.waitProc('repl', 'running', (p) => p.status === 'running');
    a.seenPids.add(first.pid);
    const desc = await a.json(['desc', 'repl']);
    const logOf = (): string => fs.readFileSync(desc.log as string, 'utf8');
    const send = (text: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(PMON3, ['attach', 'repl', '--stdin'], { env: { ...process.env, PMON3_CONF: a.conf } });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.stdin.write(text);
        void waitFor(`attach to echo ${text.trim()}`, () => out.includes(text.trim()), 10_000)
          .catch(() => undefined)
          .then(() => child.kill('SIGINT'));
        child.on('close', (code) => resolve({ code: code ?? 1, stdout: out, stderr: err }));
      });
    const one = await send('hello from stdin\n');
    assert.match(one.stdout, /repl\s+\| hello from stdin/, one.stderr);
    // pmond killed: cat (which ends at EOF) keeps running, and the next pmond writes on.
    await a.crash();
    await a.launch();
    const again = await a.waitProc('repl', 'running', (p) => p.status === 'running');
    assert.equal(again.pid, first.pid, 'the same cat, re-adopted: its stdin saw no EOF');
    const two = await send('after the crash\n');
    assert.match(two.stdout, /after the crash/, two.stderr);
    assert.match(logOf(), /hello from stdin\nafter the crash\n/);
    // Bounds: more than 64 KiB at once is refused; a stopped one has no stdin open.
    const big = await request(portA, '/v1/rpc/input', { method: 'POST', key: opKey, body: { target: 'repl', data: 'x'.repeat(70_000) } });
    assert.equal(big.status, 400);
    assert.equal((await a.run(['stop', 'repl'])).code, 0);
    const stopped = await request(portA, '/v1/rpc/input', { method: 'POST', key: opKey, body: { target: 'repl', data: 'x' } });
    assert.equal(stopped.status, 412, stopped.text);
    assert.match(stopped.json.error.message, /is not running/);
    assert.equal((await a.run(['del', 'repl', '-f'])).code, 0);
    assert.ok(!fs.existsSync(path.join(a.data, 'stdin', String(first.id))), 'its FIFO goes with it');
  });

  test('shell runs the commands it reads; monit --json is one snapshot; monit without a terminal is refused', async () => {
    const sh = await cli(['shell'], {}, 'ls --json\ninfo --json\nexit\n');
    assert.equal(sh.code, 0, sh.stderr);
    assert.match(sh.stdout, /"name": "web"/);
    assert.match(sh.stdout, /"socket_path"/);
    const m = await cli(['monit', '--json']);
    assert.equal(m.code, 0);
    assert.ok(JSON.parse(m.stdout).processes.some((p: any) => p.name === 'web'));
    const t = await cli(['monit']);
    assert.equal(t.code, 2);
    assert.match(t.stderr, /needs a terminal/);
  });

  test('monit in a terminal (tmux): the table with sparklines and a log pane; q quits', { skip: fs.existsSync('/usr/bin/tmux') ? false : 'tmux is not installed' }, async () => {
    const session = `pmt-monit-${process.pid}`;
    // Its server's socket in this suite's directory (removed with it), not in /tmp/tmux-UID.
    const tmux = (...args: string[]): string => execFileSync('tmux', ['-S', path.join(dir, 'tmux.sock'), ...args], { encoding: 'utf8' });
    tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', 'env', `PMON3_CONF=${a.conf}`, PMON3, 'monit');
    try {
      const screen = await waitFor('monit to draw web with its sparklines', () => {
        const s = tmux('capture-pane', '-p', '-t', session);
        return /pmon3 monit/.test(s) && /web\s+running/.test(s) && /[▁▂▃▄▅▆▇█]/.test(s) && /log of web/.test(s) ? s : undefined;
      }, 15_000, 200);
      assert.match(screen, /q quit/);
      tmux('send-keys', '-t', session, 'q');
      await waitFor('monit to quit', () => {
        try {
          tmux('has-session', '-t', session);
          return false;
        } catch {
          return true;
        }
      }, 10_000, 100);
    } finally {
      try {
        tmux('kill-server');
      } catch {
        /* gone */
      }
    }
  });
});
