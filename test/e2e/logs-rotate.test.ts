/**
 * Logger mode against a real pmond (issue 15, logs): an app with `rotate:` writes through one
 * pmon3-log per instance. 200 MB of numbered lines with a rotation every 10 MB: every line in
 * exactly one file, none split; the same with pmond killed with SIGKILL in the middle, and with
 * the logger itself killed in the middle (the program never gets EPIPE: it would exit 3);
 * `log rotate NAME` rotates at once, a direct-mode app is refused in one line; timestamps on
 * every line; a root pmond's logger gives a user's files to the user.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { isRoot, TestUsers } from '../helpers/users';
import { waitFor } from '../helpers/wait';

const FLOOD = path.join(FIXTURES, 'logs', 'flood.js');
const users = new TestUsers();
let d: TestDaemon;
let dir: string;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmlr-', 0o755);
});
after(async () => {
  await d?.stop();
  users.cleanup();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The log and its rotated copies (decompressed), oldest first. */
function files(log: string): Array<{ name: string; text: string }> {
  const base = path.basename(log);
  const dirOf = path.dirname(log);
  const rot = fs
    .readdirSync(dirOf)
    .map((n) => ({ n, m: new RegExp(`^${base.replace(/\./g, '\\.')}\\.(\\d+)(\\.gz)?$`).exec(n) }))
    .filter((x) => x.m)
    .sort((a, b) => Number(b.m![1]) - Number(a.m![1]));
  const out = rot.map(({ n, m }) => {
    const raw = fs.readFileSync(path.join(dirOf, n));
    return { name: n, text: (m![2] ? zlib.gunzipSync(raw) : raw).toString('latin1') };
  });
  if (fs.existsSync(log)) out.push({ name: base, text: fs.readFileSync(log, 'latin1') });
  return out;
}

/** Every numbered line 0..n-1 exactly once, none split, each file ending at a line's end. */
function checkLines(log: string, n: number): { files: number; bytes: number } {
  const seen = new Uint8Array(n);
  let bytes = 0;
  const fs0 = files(log);
  for (const f of fs0) {
    bytes += f.text.length;
    assert.ok(f.text === '' || f.text.endsWith('\n'), `${f.name} ends inside a line`);
    for (const line of f.text.split('\n')) {
      if (line === '' || line === 'done' || line.startsWith('pmon3-log:')) continue;
      const m = /^(\d{9}) x{90}$/.exec(line);
      assert.ok(m, `${f.name}: a split or strange line: ${JSON.stringify(line.slice(0, 120))}`);
      const k = Number(m[1]);
      assert.ok(k < n, `line ${k} out of range`);
      assert.equal(seen[k], 0, `line ${k} twice`);
      seen[k] = 1;
    }
  }
  const missing = seen.indexOf(0);
  assert.equal(missing, -1, `line ${missing} is missing (${fs0.length} files)`);
  return { files: fs0.length, bytes };
}

const app = (name: string, extra: Record<string, string>, rotate = '{size: 10M, keep: 40}'): string => {
  const f = path.join(dir, `${name}.yaml`);
  const env = Object.entries(extra).map(([k, v]) => `${k}: "${v}"`).join(', ');
  fs.writeFileSync(f, `apps:\n  - name: ${name}\n    exec: ${process.execPath}\n    args: [${FLOOD}]\n    env: {${env}}\n    restart: never\n    rotate: ${rotate}\n`);
  return f;
};

const LINES_200MB = 2_000_000; // 100 bytes each

test('200 MB with a rotation every 10 MB: every line in exactly one file, none split; the program exits 0 (no EPIPE)', async () => {
  const t0 = Date.now();
  await d.json(['apply', '-f', app('flood', { LINES: String(LINES_200MB) })]);
  const p = await d.waitProc('flood', 'done', (x) => x.status === 'completed' || x.status === 'stopped' || x.status === 'failed', 120_000);
  assert.equal(p.last_exit_code ?? p.exit_code ?? 0, 0, JSON.stringify(p));
  const log = (await d.json(['desc', 'flood'])).log as string;
  await waitFor('the logger wrote the last line', () => fs.existsSync(log) && fs.readFileSync(log, 'latin1').includes('done\n'), 30_000);
  const r = checkLines(log, LINES_200MB);
  assert.ok(r.files >= 20, `${r.files} files for 200 MB at 10 MB each`);
  for (const f of files(log)) assert.ok(f.text.length <= 10 * 1024 * 1024 + 200, `${f.name} is ${f.text.length} bytes`);
  console.log(`# 200 MB through the logger: ${r.files} files, ${Date.now() - t0} ms`);
  await d.json(['del', 'flood']);
});

test('pmond killed with SIGKILL in the middle of a flood, and the logger too: still every line exactly once, the program never sees EPIPE', async () => {
  const n = 600_000; // 60 MB at about 10 MB/s, so that it is still writing when pmond and the logger are killed
  await d.json(['apply', '-f', app('flood2', { LINES: String(n), BURST: '1000', PAUSE_MS: '10' })]);
  const row = await d.waitProc('flood2', 'running', (x) => x.status === 'running');
  const log = (await d.json(['desc', 'flood2'])).log as string;
  await waitFor('5 MB written', () => fs.existsSync(log) && fs.statSync(log).size > 5_000_000, 30_000);
  await d.crash();
  await d.launch();
  await waitFor('adopted again', async () => (await d.get('flood2'))?.pid === row.pid, 15_000);
  const pmondLog = (): string => fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8');
  const adopted = /flood2: re-adopted its logger pid (\d+)/.exec(pmondLog());
  assert.ok(adopted, 'the new pmond found the logger');
  // Now the logger: killed; pmond starts another on the same pipe.
  process.kill(Number(adopted[1]), 'SIGKILL');
  await waitFor('another logger', () => /flood2: its logger pid \d+ ended .* starting another on the same pipe/.test(pmondLog()), 15_000);
  const p = await d.waitProc('flood2', 'done', (x) => x.status !== 'running', 120_000);
  assert.equal(p.last_exit_code ?? 0, 0, `the program exited ${p.last_exit_code} (3: EPIPE)`);
  await waitFor('the last line written', () => fs.readFileSync(log, 'latin1').includes('done\n'), 30_000);
  checkLines(log, n);
  await d.json(['del', 'flood2']);
});

test('log rotate NAME: rotated now, at a line boundary; a direct-mode app is refused in one line; timestamps on every line', async () => {
  await d.json(['apply', '-f', app('slow', { LINES: '1000000', BURST: '10', PAUSE_MS: '20' }, '{keep: 5}')]);
  const log = (await d.json(['desc', 'slow'])).log as string;
  await waitFor('some lines', () => fs.existsSync(log) && fs.statSync(log).size > 2000, 15_000);
  const r = await d.json<{ rotated: string[] }>(['log', 'rotate', 'slow']);
  assert.deepEqual(r.rotated, ['slow']);
  await waitFor('slow.log.1', () => fs.existsSync(`${log}.1`), 10_000);
  assert.ok(fs.readFileSync(`${log}.1`, 'latin1').endsWith('\n'));
  await d.json(['del', 'slow']);
  await d.json(['exec', '/bin/sleep', '--name', 'direct', '--', '600']);
  const bad = await d.run(['log', 'rotate', 'direct']);
  assert.equal(bad.code, 6);
  assert.match(bad.stderr, /^pmon3: log rotate: direct: it writes its log directly .*\n$/);
  await d.json(['del', 'direct']);
  const f = path.join(dir, 'ts.yaml');
  fs.writeFileSync(f, `apps:\n  - name: ts\n    exec: /bin/sh\n    args: ["-c", "echo one; echo two >&2; echo three; exec sleep 600"]\n    timestamps: true\n`);
  await d.json(['apply', '-f', f]);
  const tlog = (await d.json(['desc', 'ts'])).log as string;
  await waitFor('three lines', () => fs.existsSync(tlog) && fs.readFileSync(tlog, 'utf8').split('\n').length >= 4, 10_000);
  for (const line of fs.readFileSync(tlog, 'utf8').trim().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (one|two|three)$/);
  await d.json(['del', 'ts']);
});

test("a root pmond's logger gives a user's log files to the user, and runs as pmond only for pmond's own logs_dir", { skip: !isRoot() && 'needs root (test users)' }, async () => {
  const u = users.add('lr-fay');
  const f = path.join(dir, 'ul.yaml');
  fs.writeFileSync(f, `apps:\n  - name: ul\n    exec: ${process.execPath}\n    args: [${FLOOD}]\n    env: {LINES: "300000"}\n    restart: never\n    rotate: {size: 4M, keep: 20, compress: true}\n`);
  await d.json(['apply', '-f', f], { as: u });
  await d.waitProc('ul', 'done', (x) => x.status !== 'running' && x.status !== 'starting', 60_000).catch((e: Error) => {
    throw new Error(`${e.message}; pmond.log: ${fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8').split('\n').slice(-8).join(' | ')}`);
  });
  const log = (await d.json(['desc', 'ul'], { as: u })).log as string;
  await waitFor('the last line', () => fs.existsSync(log) && fs.readFileSync(log, 'latin1').includes('done\n'), 30_000);
  // The logger compresses in the background until it ends: every rotated file a .gz then.
  await waitFor('every rotated file compressed', () => !fs.readdirSync(path.dirname(log)).some((n) => /^ul\.log\.\d+$/.test(n)), 30_000);
  checkLines(log, 300_000);
  const rotated = fs.readdirSync(path.dirname(log)).filter((n) => n.startsWith('ul.log.'));
  assert.ok(rotated.some((n) => n.endsWith('.gz')), rotated.join(' '));
  for (const n of ['ul.log', ...rotated]) assert.equal(fs.statSync(path.join(path.dirname(log), n)).uid, u.uid, `${n} is the user's`);
  await d.json(['del', 'ul'], { as: u });
});

test('error_log: stderr to a file of its own (its own logger), stdout to the log; both loggers adopted after pmond is killed; inside logs_dir refused', async () => {
  const err = path.join(dir, 'split', 'app.err');
  const f = path.join(dir, 'split.yaml');
  const prog = path.join(dir, 'split.sh');
  fs.writeFileSync(prog, '#!/bin/sh\necho out-1; echo err-1 >&2\nwhile [ ! -e "$1" ]; do sleep 0.05; done\necho out-2; echo err-2 >&2\nexec sleep 600\n');
  fs.chmodSync(prog, 0o755);
  const go = path.join(dir, 'split-go');
  fs.writeFileSync(f, `apps:\n  - name: split\n    exec: ${prog}\n    args: [${go}]\n    error_log: ${err}\n    timestamps: true\n`);
  await d.json(['apply', '-f', f]);
  const log = (await d.json(['desc', 'split'])).log as string;
  await waitFor('the first lines', () => fs.existsSync(err) && fs.readFileSync(err, 'utf8').includes('err-1') && fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('out-1'), 10_000);
  await d.crash();
  await d.launch();
  await waitFor('both loggers adopted', () => {
    const t = fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8');
    return t.includes('split: re-adopted its logger pid') && t.includes('split: re-adopted its stderr logger pid');
  }, 15_000);
  fs.writeFileSync(go, '');
  await waitFor('the second lines', () => fs.readFileSync(err, 'utf8').includes('err-2') && fs.readFileSync(log, 'utf8').includes('out-2'), 10_000);
  const words = (file: string): string[] => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.replace(/^\S+Z /, ''));
  assert.deepEqual(words(log), ['out-1', 'out-2']);
  assert.deepEqual(words(err), ['err-1', 'err-2']);
  await d.json(['del', 'split']);
  fs.writeFileSync(f, `apps:\n  - name: split2\n    exec: /bin/sleep\n    error_log: ${path.join(d.logs, 'x.err')}\n`);
  const r = await d.run(['apply', '-f', f]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /inside pmond's own directory/);
});
