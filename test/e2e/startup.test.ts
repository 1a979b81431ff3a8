/**
 * The CLI's two start-up paths (bin/pmon3): the V8 start-up snapshot, and
 * bin/pmon3.js from dist/ (NODE_OPTIONS, PMON3_NO_SNAPSHOT, another node):
 * the same stdout, stderr and exit status for the same argv. Stopped
 * processes are used where output must match byte for byte.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isStale } from '../../internal/cli/stale';
import { PMON3, ROOT, TestDaemon, type RunResult } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';

let d: TestDaemon;
let dir: string;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmt-start-');
  await d.json(['exec', '/bin/sleep', '--name', 'alpha', '--', '300']);
  await d.json(['exec', '/bin/sleep', '--name', 'beta', '-e', "A=1 B='two words'", '--', '300', '--x']);
  await d.json(['stop', 'alpha', '--force']);
  await d.json(['stop', 'beta', '--force']);
});

after(async () => {
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('start-up paths (bin/pmon3)', () => {
  /** Run bin/pmon3 (or another launcher) with PMON3_TRACE_START=1: which path served, and the output. */
  async function traced(args: string[], env: NodeJS.ProcessEnv = {}, bin = PMON3): Promise<RunResult & { how: string }> {
    const r = await d.run(args, { env: { PMON3_TRACE_START: '1', ...env }, bin });
    const how = /^pmon3: start: (\w+)\n/m.exec(r.stderr)?.[1] ?? '';
    return { ...r, how, stderr: r.stderr.replace(/^pmon3: start: \w+\n/m, '') };
  }

  test('every command starts from the snapshot, with the output of the dist/ path', async () => {
    const cases = [
      ['ls'],
      ['ls', '--json'],
      ['list', 'b*'],
      ['desc', 'beta'],
      ['show', 'alpha', '--json'],
      ['desc', 'nope'],
      ['desc', 'nope', '--json'],
      ['log', 'alpha'],
      ['logs', '-n', '1'],
      ['help'],
      ['help', 'exec'],
      ['exec', '--help'],
      ['-v'],
      ['restrat', 'x'],
      ['exec', '/bin/sleep', 'x'],
      ['completion', 'bash'],
    ];
    for (const args of cases) {
      const snap = await traced(args);
      assert.equal(snap.how, 'snapshot', args.join(' '));
      const dist = await traced(args, { PMON3_NO_SNAPSHOT: '1' });
      assert.equal(dist.how, 'dist', args.join(' '));
      assert.equal(snap.code, dist.code, args.join(' '));
      assert.equal(snap.stdout, dist.stdout, args.join(' '));
      assert.equal(snap.stderr, dist.stderr, args.join(' '));
    }
    const v = await traced(['version']);
    assert.equal(v.how, 'snapshot');
    assert.match(v.stdout, /^pmon3 \d/);
  });

  test('NODE_OPTIONS, PMON3_NO_SNAPSHOT or another node in PATH: the same CLI from dist/', async () => {
    const want = await traced(['ls', '--json']);
    assert.equal(want.how, 'snapshot');
    // V8 refuses a blob under other V8 flags (exit 14): the launcher must not try.
    const opts = await traced(['ls', '--json'], { NODE_OPTIONS: '--max-old-space-size=256' });
    assert.equal(opts.how, 'dist');
    assert.equal(opts.stdout, want.stdout);
    const off = await traced(['ls', '--json'], { PMON3_NO_SNAPSHOT: '1' });
    assert.equal(off.how, 'dist');
    // A node the snapshot was not built by (here a wrapper with its own mtime) is not given the blob.
    const other = fs.mkdtempSync(path.join(dir, 'node-'));
    fs.writeFileSync(path.join(other, 'node'), `#!/bin/sh\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
    const r = await traced(['ls', '--json'], { PATH: `${other}:${process.env.PATH}` });
    assert.equal(r.how, 'dist', r.stderr);
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

  test('a source newer than the snapshot makes it stale (a checkout rebuilt with tsc alone)', () => {
    const src = fs.mkdtempSync(path.join(dir, 'src-'));
    fs.writeFileSync(path.join(src, 'a.ts'), '');
    const mtime = fs.statSync(path.join(src, 'a.ts')).mtimeMs;
    assert.equal(isStale(src, mtime + 1000, ['a.ts']), false);
    assert.equal(isStale(src, mtime - 1000, ['a.ts']), true);
    assert.equal(isStale(src, mtime - 1000, ['gone.ts']), false, 'an installed tree has no sources');
    assert.ok(fs.existsSync(path.join(ROOT, 'dist', 'fast', 'pmon3.blob')), 'make build wrote the snapshot');
  });
});
