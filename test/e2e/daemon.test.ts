/**
 * pmond start-up: bad configuration is one line naming the key or path,
 * a second pmond is refused, a stale socket is removed, the daemon is down → exit 7.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { VERSION } from '../../internal/version';
import { PMON3, PMOND, TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';

const dirs: string[] = [];
const daemons: TestDaemon[] = [];
after(async () => {
  for (const d of daemons) await d.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = tempDir('pmd-');
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

test('pmond -v and --version print "pmond VERSION" and exit 0', async () => {
  for (const flag of ['-v', '--version']) {
    const r = await run(PMOND, [flag], '/nonexistent');
    assert.deepEqual(r, { code: 0, stdout: `pmond ${VERSION}\n`, stderr: '' }, flag);
  }
});

/** A config whose paths are all in a fresh dir, to see that pmond made none of them. */
function quietConfig(): { dir: string; conf: string; made: () => string[] } {
  const dir = tmp();
  const conf = path.join(dir, 'c.yaml');
  fs.writeFileSync(conf, `data_dir: ${dir}/data\nlogs_dir: ${dir}/logs\nsocket_path: ${dir}/s.sock\n`);
  return { dir, conf, made: () => fs.readdirSync(dir).filter((e) => e !== 'c.yaml') };
}

test('pmond -h and --help print the usage on stdout, exit 0 and start nothing', async () => {
  const { conf, made } = quietConfig();
  for (const args of [['-h'], ['--help'], ['--check', '--help'], ['--help', '--version']]) {
    const r = await run(PMOND, args, conf);
    assert.equal(r.code, 0, args.join(' '));
    assert.equal(r.stderr, '', args.join(' '));
    assert.match(r.stdout, new RegExp(`^pmond ${VERSION.replace(/\./g, '\\.')}: the pmon3 daemon`));
    for (const flag of ['--check', '-h, --help', '-v, --version']) assert.ok(r.stdout.includes(flag), `usage names ${flag}`);
    assert.deepEqual(made(), [], `${args.join(' ')} made nothing`);
  }
});

test('an unknown flag or any argument: one line on stderr naming it, exit 2, nothing started', async () => {
  const { conf, made } = quietConfig();
  const cases: Array<[string[], string]> = [
    [['--bogus'], 'unknown flag "--bogus"'],
    [['-x'], 'unknown flag "-x"'],
    [['--help=yes'], 'unknown flag "--help=yes"'],
    [['-hv'], 'unknown flag "-hv"'],
    [['--check', '--verbose'], 'unknown flag "--verbose"'],
    [['start'], 'unexpected argument "start"'],
    [['--help', 'extra'], 'unexpected argument "extra"'],
    [['--', 'x'], 'unexpected argument "x"'],
  ];
  for (const [args, what] of cases) {
    const r = await run(PMOND, args, conf);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(lines[0]!.startsWith(`pmond: ${what}`), `${args.join(' ')}: ${lines[0]}`);
  }
  assert.deepEqual(made(), [], 'no socket, data or logs');
});

test('pmond --check still checks the database (and a lone -- is only the end of the flags)', async () => {
  const d = await TestDaemon.start();
  daemons.push(d);
  for (const args of [['--check'], ['--check', '--']]) {
    const r = await run(PMOND, args, d.conf);
    assert.deepEqual({ code: r.code, stdout: r.stdout }, { code: 0, stdout: 'ok\n' }, args.join(' '));
  }
});
