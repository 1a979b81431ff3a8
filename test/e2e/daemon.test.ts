/**
 * pmond start-up: bad configuration is one line naming the key or path,
 * a second pmond is refused, a stale socket is removed, the daemon is down → exit 7.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { PMON3, PMOND, TestDaemon } from '../helpers/daemon';

const dirs: string[] = [];
const daemons: TestDaemon[] = [];
after(async () => {
  for (const d of daemons) await d.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pmd-'));
  dirs.push(d);
  return d;
}

function run(bin: string, args: string[], conf: string, timeout = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { env: { ...process.env, PMON3_CONF: conf }, timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('an unknown config key stops pmond with one line naming it', async () => {
  const dir = tmp();
  const conf = path.join(dir, 'c.yaml');
  fs.writeFileSync(conf, `data_dir: ${dir}/data\nlogs_dir: ${dir}/logs\nsocket_path: ${dir}/s.sock\nprocess_monitor_intervall: 5\n`);
  const r = await run(PMOND, [], conf);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), `pmond: config ${conf}: unknown key "process_monitor_intervall"`);
});

test('a wrong type names the key', async () => {
  const dir = tmp();
  const conf = path.join(dir, 'c.yaml');
  fs.writeFileSync(conf, `data_dir: ${dir}/data\nhandle_interrupts: sometimes\n`);
  const r = await run(PMOND, [], conf);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /key "handle_interrupts"/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test('an unusable path names the key and the path', async () => {
  const dir = tmp();
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, '');
  const conf = path.join(dir, 'c.yaml');
  fs.writeFileSync(conf, `data_dir: ${file}/data\nlogs_dir: ${dir}/logs\nsocket_path: ${dir}/s.sock\n`);
  const r = await run(PMOND, [], conf);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`data_dir ${file}/data: ENOTDIR`));
});

test('an unreadable config file is named', async () => {
  const dir = tmp();
  const r = await run(PMOND, [], dir); // a directory: EISDIR
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`config ${dir}: cannot be read`));
});

test('a second pmond on the same socket or data_dir is refused; a stale socket is removed', async () => {
  const d = await TestDaemon.start();
  daemons.push(d);
  const r = await run(PMOND, [], d.conf);
  assert.equal(r.code, 6);
  assert.match(r.stderr, /another pmond (\(pid \d+\) )?is already running/);
  assert.equal((await d.run(['ls'])).code, 0, 'the first one is unharmed');
  await d.crash(); // leaves its socket file behind
  assert.ok(fs.existsSync(d.socket));
  await d.launch();
  assert.equal((await d.run(['ls'])).code, 0);
});

test('with pmond down, every command says so and exits 7', async () => {
  const dir = tmp();
  const conf = path.join(dir, 'c.yaml');
  const sock = path.join(dir, 'nobody-home.sock');
  fs.writeFileSync(conf, `socket_path: ${sock}\n`);
  for (const args of [['ls'], ['desc', 'x'], ['stop', 'x'], ['exec', '/bin/true']]) {
    const r = await run(PMON3, args, conf);
    assert.equal(r.code, 7, args.join(' '));
    assert.equal(r.stderr.trim(), `pmon3: cannot reach pmond at ${sock} — is it running?`);
  }
  const j = await run(PMON3, ['ls', '--json'], conf);
  assert.equal(j.code, 7);
  assert.deepEqual(JSON.parse(j.stdout), { error: { code: 'UNAVAILABLE', message: `cannot reach pmond at ${sock} — is it running?` } });
});

test('pmond --version', async () => {
  const r = await run(PMOND, ['--version'], '/nonexistent');
  assert.match(r.stdout, /^pmond \d+\.\d+\.\d+/);
});
