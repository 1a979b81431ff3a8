/**
 * Class 1 of the hardening issue: privileges are dropped before anything the
 * user controls is touched. Attacks run as a real unprivileged user against a
 * root pmond: loader variables pointing at a library that records who loaded
 * it, a cwd and binaries the user may not reach, a symlink swapped between
 * restarts. Needs root (users, a root pmond); skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
let d: TestDaemon;
let mallory: TestUser;
/** mallory's playground: her evil library and scripts; the marker file every load of the library appends to. */
let play: string;
let marker: string;
/** A root-only directory and binary. */
let vault: string;

before(async () => {
  if (skip) return;
  mallory = users.add('pv-mallory');
  d = await TestDaemon.start();
  play = tempDir('pmp-');
  fs.chmodSync(play, 0o755);
  fs.chownSync(play, mallory.uid, mallory.gid);
  marker = path.join(play, 'loaded-by');
  fs.writeFileSync(marker, '');
  fs.chmodSync(marker, 0o666);
  // The library records the euid of every process that loads it.
  const src = path.join(play, 'evil.c');
  fs.writeFileSync(
    src,
    `#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void pwn(void) {\n` +
      `  FILE *f = fopen(${JSON.stringify(marker)}, "a"); if (f) { fprintf(f, "%d %d\\n", (int)geteuid(), (int)getpid()); fclose(f); }\n}\n` +
      // an LD_AUDIT library must also say which interface version it speaks
      `unsigned int la_version(unsigned int v) { return v; }\n`,
  );
  execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(play, 'evil.so'), src]);
  fs.mkdirSync(path.join(play, 'gconv'));
  fs.writeFileSync(path.join(play, 'gconv', 'gconv-modules'), `module EVIL// INTERNAL ${path.join(play, 'evil')} 1\n`);
  fs.writeFileSync(path.join(play, 'evil.js'), `require('fs').appendFileSync(${JSON.stringify(marker)}, process.geteuid() + ' node\\n');\n`);
  vault = tempDir('pmv-');
  fs.chmodSync(vault, 0o700);
  fs.writeFileSync(path.join(vault, 'secret-tool'), `#!/bin/sh\necho "$(id -u) ran" >> ${marker}\nexec sleep 300\n`, { mode: 0o700 });
});
after(async () => {
  await d?.stop();
  users.cleanup();
  for (const dir of [play, vault]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Lines of the marker written by a process whose euid was 0. */
const rootLoads = (): string[] =>
  fs
    .readFileSync(marker, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('0 '));

async function asMallory(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return d.run(args, { as: mallory, cwd: play });
}

describe('the environment a user passes reaches no privileged program', { skip }, () => {
  const evil = (): Record<string, string> => ({
    LD_PRELOAD: path.join(play, 'evil.so'),
    LD_AUDIT: path.join(play, 'evil.so'),
    LD_LIBRARY_PATH: play,
    GCONV_PATH: path.join(play, 'gconv'),
    NODE_OPTIONS: `--require ${path.join(play, 'evil.js')}`,
  });

  test('LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH, GCONV_PATH, NODE_OPTIONS: loaded by her own process only, never as root', async () => {
    const env = Object.entries(evil())
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    const r = await asMallory(['exec', '/bin/sleep', '--name', 'pre', '-e', env, '--json', '--', '300']);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    d.seenPids.add(p.pid);
    // Her own sleep loads it (that is her business), as her.
    await waitFor('her process to load the library', () => fs.readFileSync(marker, 'utf8').includes(`${mallory.uid} `));
    // Restart and stop paths spawn and signal too.
    await asMallory(['restart', 'pre']);
    await asMallory(['stop', 'pre']);
    assert.deepEqual(rootLoads(), [], 'nothing ran as root with her library');
    const uids = new Set(
      fs
        .readFileSync(marker, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(l.split(' ')[0])),
    );
    assert.deepEqual([...uids], [mallory.uid], 'only her own processes loaded it');
    await asMallory(['del', 'pre']);
  });

  test('the same variables given by root for a process of hers still reach only her process', async () => {
    const env = Object.entries(evil())
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    const p = await d.json(['exec', '/bin/sleep', '--name', 'pre-root', '-u', mallory.name, '-e', env, '--', '300']);
    assert.equal(p.status, 'running');
    await d.json(['del', 'pre-root', '-f']);
    assert.deepEqual(rootLoads(), []);
  });
});

describe('paths are reached with her rights only', { skip }, () => {
  test('--cwd into a directory she cannot enter fails as her shell would, and nothing runs', async () => {
    const r = await asMallory(['exec', '/bin/sleep', '--name', 'cwd-vault', '--cwd', vault, '--', '300']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `pmon3: cd: ${vault}: Permission denied\n`);
    // A directory that does not exist inside it gives the very same answer: nothing leaks.
    const r2 = await asMallory(['exec', '/bin/sleep', '--name', 'cwd-vault', '--cwd', path.join(vault, 'nope'), '--', '300']);
    assert.equal(r2.stderr, `pmon3: cd: ${path.join(vault, 'nope')}: Permission denied\n`);
    assert.equal((await d.ls()).some((p) => p.name === 'cwd-vault'), false);
  });

  test('a 0700 root binary, directly or through her symlink, never runs', async () => {
    const tool = path.join(vault, 'secret-tool');
    const r = await asMallory(['exec', tool, '--name', 'direct']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `pmon3: ${tool}: Permission denied\n`);
    const link = path.join(play, 'tool');
    fs.symlinkSync(tool, link);
    fs.lchownSync(link, mallory.uid, mallory.gid);
    const r2 = await asMallory(['exec', link, '--name', 'via-link']);
    assert.equal(r2.code, 2);
    assert.equal(r2.stderr, `pmon3: ${link}: Permission denied\n`);
    assert.equal(fs.readFileSync(marker, 'utf8').includes('ran'), false);
  });

  test('a symlink swapped to a root-only binary between restarts: the restart fails, the binary never runs', async () => {
    const link = path.join(play, 'swap');
    const own = path.join(play, 'own.sh');
    fs.writeFileSync(own, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    fs.chownSync(own, mallory.uid, mallory.gid);
    fs.symlinkSync(own, link);
    fs.lchownSync(link, mallory.uid, mallory.gid);
    const r = await asMallory(['exec', link, '--name', 'swapper', '--json']);
    assert.equal(r.code, 0, r.stderr);
    // While it crash-loops, point the link at the root-only tool.
    fs.unlinkSync(link);
    fs.symlinkSync(path.join(vault, 'secret-tool'), link);
    fs.lchownSync(link, mallory.uid, mallory.gid);
    const p = await d.waitProc('swapper', 'to fail for good', (x) => x.status === 'failed', 20_000);
    assert.equal(p.pid, null);
    assert.equal(fs.readFileSync(marker, 'utf8').includes('ran'), false, 'the root-only tool never ran');
    await waitFor('the failure in pmond.log', () => /swapper: start failed: .*swap: Permission denied/.test(fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8')));
    await d.json(['del', 'swapper']);
  });
});
