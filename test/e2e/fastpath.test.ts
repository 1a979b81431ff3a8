/**
 * The CLI's fast path (internal/cli/fast) against the oclif commands it
 * stands in for: the same stdout, stderr and exit status for the same argv,
 * PMON3_NO_FASTPATH=1 forcing the oclif path. Stopped processes are used
 * where output must match byte for byte (no CPU, memory or uptime to drift).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isStale, planFast, type Surroundings } from '../../internal/cli/fast';
import { PMON3, ROOT, TestDaemon, type RunResult } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';

let d: TestDaemon;
let dir: string;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmt-fast-');
  // Two stopped processes: every field of ls and desc is then stable between the two runs.
  await d.json(['exec', '/bin/sleep', '--name', 'alpha', '--', '300']);
  await d.json(['exec', '/bin/sleep', '--name', 'beta', '-a', '300 --x', '-e', "A=1 B='two words'"]);
  await d.json(['stop', 'alpha', '--force']);
  await d.json(['stop', 'beta', '--force']);
});

after(async () => {
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Run argv once on the fast path and once through oclif. */
async function both(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ fast: RunResult; oclif: RunResult }> {
  const fast = await d.run(args, { env });
  const oclif = await d.run(args, { env: { ...env, PMON3_NO_FASTPATH: '1' } });
  return { fast, oclif };
}

function assertSame(r: { fast: RunResult; oclif: RunResult }, what: string): void {
  assert.equal(r.fast.code, r.oclif.code, `${what}: exit status`);
  assert.equal(r.fast.stdout, r.oclif.stdout, `${what}: stdout`);
  assert.equal(r.fast.stderr, r.oclif.stderr, `${what}: stderr`);
}

describe('same output as the oclif commands', () => {
  for (const args of [['ls'], ['list'], ['ls', '--json'], ['desc', 'beta'], ['show', 'alpha', '--json'], ['desc', '2']]) {
    test(`pmon3 ${args.join(' ')}`, async () => {
      const r = await both(args);
      assert.equal(r.fast.code, 0, r.fast.stderr);
      assertSame(r, args.join(' '));
    });
  }

  test('ls --json lists both processes', async () => {
    const r = await both(['ls', '--json']);
    assert.deepEqual(
      (JSON.parse(r.fast.stdout) as Array<{ name: string }>).map((p) => p.name),
      ['alpha', 'beta'],
    );
  });

  test('a missing process: exit 3 and one line on stderr, with and without --json', async () => {
    for (const args of [['desc', 'nope'], ['desc', 'nope', '--json'], ['stop', 'nope'], ['restart', 'nope', '--json']]) {
      const r = await both(args);
      assert.equal(r.fast.code, 3, args.join(' '));
      assert.equal(r.fast.stderr, 'pmon3: process "nope" not found\n');
      assertSame(r, args.join(' '));
    }
  });

  test('pmond down: exit 7 and "cannot reach pmond at PATH — is it running?"', async () => {
    const conf = path.join(dir, 'down.yaml');
    const sock = path.join(dir, 'nobody-home.sock');
    fs.writeFileSync(conf, `socket_path: ${sock}\n`);
    for (const args of [['ls'], ['ls', '--json'], ['desc', 'x'], ['exec', '/bin/true']]) {
      const r = await both(args, { PMON3_CONF: conf });
      assert.equal(r.fast.code, 7, args.join(' '));
      assert.equal(r.fast.stderr, `pmon3: cannot reach pmond at ${sock} — is it running?\n`);
      assertSame(r, args.join(' '));
    }
  });

  test('a bad config file: the same one-line error and exit 2', async () => {
    const conf = path.join(dir, 'bad.yaml');
    fs.writeFileSync(conf, 'socket_path: relative.sock\nnot_a_key: 1\n');
    const r = await both(['ls'], { PMON3_CONF: conf });
    assert.equal(r.fast.code, 2);
    assert.match(r.fast.stderr, /^pmon3: config .*bad\.yaml: /);
    assertSame(r, 'ls with a bad config');
  });

  test('stop, start and restart: same exit status and table shape, same counters', async () => {
    const start = await both(['start', 'alpha', '--json']);
    assert.equal(start.fast.code, 0, start.fast.stderr);
    assert.equal(start.oclif.code, 0, start.oclif.stderr);
    assert.equal(JSON.parse(start.fast.stdout).restarts, JSON.parse(start.oclif.stdout).restarts, 'start does not count');
    const restart = await both(['restart', 'alpha', '--json']);
    assert.equal(JSON.parse(restart.oclif.stdout).restarts, JSON.parse(restart.fast.stdout).restarts + 1, 'each restart counts once');
    const fastStop = await d.run(['stop', '-f', 'alpha']);
    await d.json(['start', 'alpha']);
    const oclifStop = await d.run(['stop', '-f', 'alpha'], { env: { PMON3_NO_FASTPATH: '1' } });
    assert.equal(fastStop.code, 0, fastStop.stderr);
    assert.equal(oclifStop.code, 0, oclifStop.stderr);
    assert.equal(fastStop.stdout.split('\n')[1], oclifStop.stdout.split('\n')[1], 'same table header');
    assert.match(fastStop.stdout, /│ alpha +│ - +│ \d+ +│ stopped /);
    assert.match(oclifStop.stdout, /│ alpha +│ - +│ \d+ +│ stopped /);
  });

  test('exec: the same request (args, env, cwd, log, auto_restart) from both paths', async () => {
    const argv = (name: string): string[] => [
      'exec', '/bin/sleep', '--name', name, '-a', "'3 00'", '--env-vars', 'A=1 B="x y"', '--log-dir', 'logs-here',
      '--no-autorestart', '--cwd', '.', '--json', '--', '400', '-x',
    ];
    assert.ok(planFast(argv('x'), { env: {}, colorTerminal: false }), 'served by the fast path');
    const fast = await d.run(argv('ex-fast'), { cwd: dir });
    const oclif = await d.run(argv('ex-oclif'), { cwd: dir, env: { PMON3_NO_FASTPATH: '1' } });
    assert.equal(fast.code, 0, fast.stderr);
    assert.equal(oclif.code, 0, oclif.stderr);
    const pick = (s: string): Record<string, unknown> => {
      const p = JSON.parse(s) as Record<string, unknown>;
      return { args: p.args, env: p.env, cwd: p.cwd, log_dir: path.dirname(p.log as string), auto_restart: p.auto_restart, status: p.status };
    };
    assert.deepEqual(pick(fast.stdout), pick(oclif.stdout));
    assert.deepEqual(pick(fast.stdout).args, ['3 00', '400', '-x']);
    await d.json(['del', 'ex-fast', '--force']);
    await d.json(['del', 'ex-oclif', '--force']);
  });

  test('exec errors: the same message and exit status', async () => {
    for (const args of [['exec', './no-such-binary'], ['exec', '/bin/sleep', '--name', 'x', '-a', "'unterminated"], ['exec', '/bin/sleep', '--name', 'alpha']]) {
      const r = await both(args);
      assert.notEqual(r.fast.code, 0, args.join(' '));
      assertSame(r, args.join(' '));
    }
  });

  test('ls does not load oclif (and PMON3_NO_FASTPATH=1 does)', async () => {
    const probe = path.join(dir, 'probe.js');
    const out = path.join(dir, 'probe.out');
    fs.writeFileSync(
      probe,
      `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, String(Object.keys(require.cache).some((f) => f.includes('@oclif')))));\n`,
    );
    const loaded = async (env: NodeJS.ProcessEnv): Promise<string> => {
      await new Promise<void>((resolve, reject) => {
        execFile(process.execPath, ['-r', probe, `${PMON3}.js`, 'ls'], { env: { ...process.env, PMON3_CONF: d.conf, ...env } }, (err) => (err ? reject(err) : resolve()));
      });
      return fs.readFileSync(out, 'utf8');
    };
    assert.equal(await loaded({}), 'false');
    assert.equal(await loaded({ PMON3_NO_FASTPATH: '1' }), 'true');
  });
});

describe('what the fast path leaves to oclif', () => {
  const plain: Surroundings = { env: {}, colorTerminal: false };

  test('hot commands in their plain forms are served', () => {
    assert.deepEqual(planFast(['ls'], plain), { cmd: 'ls', json: false });
    assert.deepEqual(planFast(['list', '--json'], plain), { cmd: 'ls', json: true });
    assert.deepEqual(planFast(['stop', '-f', 'api'], plain), { cmd: 'stop', json: false, target: 'api', force: true });
    assert.deepEqual(planFast(['start', 'api'], plain), { cmd: 'restart', json: false, target: 'api', count: false });
    assert.deepEqual(planFast(['exec', '/bin/x', '--name=a', '7', '--', '-v'], plain), {
      cmd: 'exec',
      json: false,
      exec: { binary: '/bin/x', extra: ['7', '-v'], name: 'a', noAutorestart: false },
    });
  });

  test('everything else goes to oclif', () => {
    const cases: string[][] = [
      [],
      ['--help'],
      ['ls', '--help'],
      ['ls', 'extra'],
      ['ls', '--json', '--json'],
      ['ls', '--jsonx'],
      ['desc'], // oclif reads a missing argument from stdin
      ['desc', 'a', 'b'],
      ['desc', '-x'],
      ['desc', ''],
      ['stop', 'a', '--force', '-f'],
      ['restart', 'a', '-f'],
      ['log', 'a'],
      ['version'],
      ['exec'],
      ['exec', '/bin/x', '--name'],
      ['exec', '/bin/x', '--name', '-dash'],
      ['exec', '/bin/x', '--name', 'a', '--name', 'b'],
      ['exec', '/bin/x', '--unknown'],
      ['exec', '/bin/x', '-5'],
      ['exec', '/bin/x', '--', '--help'],
      ['exec', '/bin/echo', '--', 'b', 'a', 'b'], // oclif reorders repeated words: leave it that quirk
    ];
    for (const c of cases) assert.equal(planFast(c, plain), undefined, c.join(' '));
  });

  test('environment and terminals that change oclif output', () => {
    assert.equal(planFast(['ls'], { env: { PMON3_NO_FASTPATH: '1' }, colorTerminal: false }), undefined);
    assert.equal(planFast(['ls'], { env: { DEBUG: '*' }, colorTerminal: false }), undefined);
    assert.equal(planFast(['ls'], { env: { PMON3_DEBUG: 'true' }, colorTerminal: false }), undefined);
    assert.equal(planFast(['ls'], { env: { PMON3_CONTENT_TYPE: 'json' }, colorTerminal: false }), undefined);
    assert.equal(planFast(['ls', '--json'], { env: {}, colorTerminal: true }), undefined);
    assert.equal(planFast(['ls', '--json'], { env: { FORCE_COLOR: '1' }, colorTerminal: false }), undefined);
    assert.deepEqual(planFast(['ls'], { env: {}, colorTerminal: true }), { cmd: 'ls', json: false });
  });
});

describe('start-up paths (bin/pmon3)', () => {
  /** Run bin/pmon3 (or another launcher) with PMON3_TRACE_START=1: which path served, and the output. */
  async function traced(args: string[], env: NodeJS.ProcessEnv = {}, bin = PMON3): Promise<RunResult & { how: string }> {
    const r = await d.run(args, { env: { PMON3_TRACE_START: '1', ...env }, bin });
    const how = /^pmon3: start: (\w+)\n/m.exec(r.stderr)?.[1] ?? '';
    return { ...r, how, stderr: r.stderr.replace(/^pmon3: start: \w+\n/m, '') };
  }

  test('the hot commands start from the snapshot, with the oclif output', async () => {
    for (const args of [['ls'], ['ls', '--json'], ['desc', 'beta'], ['desc', 'nope']]) {
      const snap = await traced(args);
      assert.equal(snap.how, 'snapshot', args.join(' '));
      const oclif = await traced(args, { PMON3_NO_FASTPATH: '1' });
      assert.equal(oclif.how, 'oclif', args.join(' '));
      assert.equal(snap.code, oclif.code, args.join(' '));
      assert.equal(snap.stdout, oclif.stdout, args.join(' '));
      assert.equal(snap.stderr, oclif.stderr, args.join(' '));
    }
    const v = await traced(['version']);
    assert.equal(v.how, 'oclif');
    assert.match(v.stdout, /^pmon3 \d/);
  });

  test('NODE_OPTIONS, PMON3_NO_SNAPSHOT or another node in PATH: the same CLI from dist/', async () => {
    const want = await traced(['ls', '--json']);
    assert.equal(want.how, 'snapshot');
    // V8 refuses a blob under other V8 flags (exit 14): the launcher must not try.
    const opts = await traced(['ls', '--json'], { NODE_OPTIONS: '--max-old-space-size=256' });
    assert.equal(opts.how, 'bundle');
    assert.equal(opts.stdout, want.stdout);
    const off = await traced(['ls', '--json'], { PMON3_NO_SNAPSHOT: '1' });
    assert.equal(off.how, 'bundle');
    // A node the snapshot was not built by (here a wrapper with its own mtime) is not given the blob.
    const other = fs.mkdtempSync(path.join(dir, 'node-'));
    fs.writeFileSync(path.join(other, 'node'), `#!/bin/sh\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
    const r = await traced(['ls', '--json'], { PATH: `${other}:${process.env.PATH}` });
    assert.equal(r.how, 'bundle', r.stderr);
    assert.equal(r.stdout, want.stdout);
  });

  test('started through a symlink (as /usr/bin/pmon3 is installed)', async () => {
    const link = path.join(dir, 'pmon3-link');
    fs.symlinkSync(PMON3, link);
    const r = await traced(['ls'], {}, link);
    assert.equal(r.how, 'snapshot', r.stderr);
    assert.equal(r.code, 0);
  });

  test('NODE_EXTRA_CA_CERTS is not loaded by the CLI', async () => {
    // node warns on stderr when that file cannot be read; the CLI never gets to read it.
    const r = await traced(['ls'], { NODE_EXTRA_CA_CERTS: path.join(dir, 'missing.pem') });
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
  });

  test('a source newer than the snapshot or bundle makes it stale (a checkout rebuilt with tsc alone)', () => {
    const src = fs.mkdtempSync(path.join(dir, 'src-'));
    fs.writeFileSync(path.join(src, 'a.ts'), '');
    const mtime = fs.statSync(path.join(src, 'a.ts')).mtimeMs;
    assert.equal(isStale(src, mtime + 1000, ['a.ts']), false);
    assert.equal(isStale(src, mtime - 1000, ['a.ts']), true);
    assert.equal(isStale(src, mtime - 1000, ['gone.ts']), false, 'an installed tree has no sources');
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'fast', 'pmon3.blob')), 'make build wrote the snapshot');
  });
});
