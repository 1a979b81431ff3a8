/**
 * log -a and logf -a as a non-root user against a root pmond (the audit's swap attacks, for
 * rotated copies): a copy that is a symlink to /etc/shadow, a FIFO named like a copy, a copy
 * owned by another user, a gzip bomb, and the log's directory swapped for a symlink between
 * the listing and the opens. Nothing from outside her reach comes through, the refused copies
 * are reported as skipped with why, the bomb stops at 32 MiB with a note, and pmond stays up.
 * Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { execHelperPath, loadNative } from '../../internal/native';
import { MAX_COPY_TEXT } from '../../internal/protocol/methods';
import { sendCopies } from '../../internal/server/log-all';
import { type LogFiles, LogReaders } from '../../internal/server/log-reader';
import { PMON3, ROOT, TestDaemon } from '../helpers/daemon';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
let d: TestDaemon;
let eve: TestUser;
let bob: TestUser;
let play: string;
/** A root-only directory holding copies named like eve's, with a secret. */
let vault: string;
/** A root-owned directory anyone may read, holding root's copies named like eve's. */
let decoy: string;
const SECRET = 'ROOT-SECRET-a91c';
const BOB = 'BOB-SECRET-55e0';

before(async () => {
  if (skip) return;
  eve = users.add('la-eve');
  bob = users.add('la-bob');
  d = await TestDaemon.start();
  play = tempDir('pmla-', 0o755);
  fs.chownSync(play, eve.uid, eve.gid);
  vault = tempDir('pmlv-', 0o700);
  decoy = tempDir('pmld-', 0o755);
  for (const dir of [vault, decoy]) for (let i = 1; i <= 60; i++) fs.writeFileSync(path.join(dir, `app.log.${i}`), `${SECRET}\n`, { mode: dir === decoy ? 0o644 : 0o600 });
});
after(async () => {
  await d?.stop();
  users.cleanup();
  for (const dir of [play, vault, decoy]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const asEve = (args: string[], opts: { timeoutMs?: number } = {}) => d.run(args, { as: eve, cwd: play, ...opts });
const hers = (f: string, content: string | Buffer): void => {
  fs.writeFileSync(f, content);
  fs.chownSync(f, eve.uid, eve.gid);
};

/** Her process, logging into dir/app.log (made by pmond, as her); returns the log's path. */
async function withLog(dir: string, name: string): Promise<string> {
  fs.mkdirSync(dir);
  fs.chownSync(dir, eve.uid, eve.gid);
  const log = path.join(dir, 'app.log');
  const r = await asEve(['exec', '/bin/sleep', '--name', name, '-l', log, '--json', '--', '300']);
  assert.equal(r.code, 0, r.stderr);
  d.seenPids.add(JSON.parse(r.stdout).pid);
  await waitFor('the log to exist', () => fs.existsSync(log));
  fs.appendFileSync(log, 'eve current\n');
  return log;
}

describe('log -a as a user: what is not hers is skipped, and said', { skip }, () => {
  test('a symlink to /etc/shadow, a FIFO, another user\'s file and a gzip bomb among her copies', async () => {
    const log = await withLog(path.join(play, 'a'), 'mixed');
    fs.symlinkSync('/etc/shadow', `${log}.1`);
    fs.lchownSync(`${log}.1`, eve.uid, eve.gid);
    execFileSync('mkfifo', [`${log}.2`]);
    fs.chownSync(`${log}.2`, eve.uid, eve.gid);
    fs.writeFileSync(`${log}.3`, `${BOB}\n`, { mode: 0o644 });
    fs.chownSync(`${log}.3`, bob.uid, bob.gid);
    // 64 MiB of text in about 64 KiB: decompressed only up to the bound.
    hers(`${log}.4.gz`, zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024, 'x'), { level: 9 }));
    hers(`${log}.5`, 'eve old\n');
    fs.symlinkSync(path.join(vault, 'app.log.1'), `${log}.6.gz`);
    fs.lchownSync(`${log}.6.gz`, eve.uid, eve.gid);

    const r = await asEve(['log', 'mixed', '-a'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    for (const bad of [SECRET, BOB, 'root:']) assert.equal(r.stdout.includes(bad), false, `${bad} did not come through`);
    // Oldest first: .5, then the bomb (.4.gz) cut at the bound, then the current log.
    const bomb = r.stdout.indexOf('x');
    assert.equal(r.stdout.slice(0, bomb), 'eve old\n');
    assert.equal(r.stdout.slice(bomb, bomb + MAX_COPY_TEXT), 'x'.repeat(MAX_COPY_TEXT));
    assert.equal(r.stdout.slice(bomb + MAX_COPY_TEXT), 'eve current\n');
    assert.deepEqual(r.stderr.trim().split('\n'), [
      `pmon3: log: skipped ${log}.1: a symbolic link, not read`,
      `pmon3: log: skipped ${log}.2: a FIFO, not read`,
      `pmon3: log: skipped ${log}.3: owned by uid ${bob.uid}, not by the process's user; not read`,
      `pmon3: log: skipped ${log}.6.gz: a symbolic link, not read`,
      `pmon3: log: ${log}.4.gz: stopped after 32 MiB of decompressed text (the most read of one copy)`,
    ]);
    const j = await asEve(['log', 'mixed', '-a', '--json'], { timeoutMs: 60_000 });
    assert.equal(j.code, 0, j.stderr);
    const v = JSON.parse(j.stdout);
    assert.deepEqual(v.files, [`${log}.5`, `${log}.4.gz`, log]);
    assert.deepEqual(v.skipped.map((s: { name: string }) => s.name), [`${log}.1`, `${log}.2`, `${log}.3`, `${log}.6.gz`]);
    assert.equal(v.notes.length, 1);

    // logf -a with the FIFO there: the history comes, then what she appends (nothing hangs).
    const [cmd, argv] = asUserArgv(eve, [PMON3, 'logf', 'mixed', '-a']);
    const f = spawn(cmd, argv, { env: { ...process.env, PMON3_CONF: d.conf }, cwd: play, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    f.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    f.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    try {
      const history = 'eve old\n'.length + MAX_COPY_TEXT + 'eve current\n'.length;
      await waitFor('the history', () => out.length === history && out.endsWith('eve current\n'), 30_000);
      fs.appendFileSync(log, 'eve later\n');
      await waitFor('the appended line', () => out.endsWith('eve current\neve later\n'), 10_000);
      assert.match(err, /skipped .*app\.log\.2: a FIFO/);
      assert.equal(out.includes(SECRET) || out.includes('root:'), false);
    } finally {
      f.kill('SIGKILL');
    }
    const ls = await d.run(['ls', '--json']);
    assert.equal(ls.code, 0, 'pmond answers');
    assert.equal(d.proc!.exitCode, null, 'pmond is up');
    await asEve(['del', 'mixed', '-f']);
  });
});

describe('the log\'s directory swapped between the listing and the opens', { skip }, () => {
  const native = () => loadNative(ROOT);
  /** Her reader, whose list() swaps the directory for a symlink to `target` right after listing. */
  async function swappingReader(dir: string, target: string): Promise<LogFiles> {
    const files = await new LogReaders(execHelperPath(ROOT), (b) => native().memfd(b)).start({ uid: eve.uid, gid: eve.gid, groups: eve.groups }, { uid: eve.uid, admin: false });
    const list = files.list.bind(files);
    files.list = async (f) => {
      const l = await list(f);
      fs.renameSync(dir, `${dir}.away`);
      fs.symlinkSync(target, dir);
      fs.lchownSync(dir, eve.uid, eve.gid);
      return l;
    };
    return files;
  }

  for (const [what, target, why] of [
    ['a root-only directory', () => vault, /^(Permission denied|gone before it could be opened)$/],
    ["a directory of root's files anyone may read", () => decoy, /^changed between listing and opening/],
    ['/etc', () => '/etc', /^(gone before it could be opened|changed between listing and opening.*)$/],
  ] as const) {
    test(`to ${what}: every copy is refused, nothing of it is read`, async () => {
      const dir = fs.mkdtempSync(path.join(play, 'w-'));
      fs.chownSync(dir, eve.uid, eve.gid);
      const log = path.join(dir, 'app.log');
      hers(log, 'eve current\n');
      for (let i = 1; i <= 60; i++) hers(`${log}.${i}`, `eve ${i}\n`);
      const files = await swappingReader(dir, target());
      let text = '';
      try {
        const info = await sendCopies(log, files, eve.uid, { send: async (t) => void (text += t), gone: () => false });
        assert.equal(text.includes(SECRET), false);
        assert.equal(text, '', 'nothing read after the swap');
        assert.deepEqual(info.files, []);
        assert.equal(info.skipped.length, 60);
        for (const s of info.skipped) assert.match(s.why, why, s.name);
      } finally {
        files.end();
        fs.unlinkSync(dir);
        fs.renameSync(`${dir}.away`, dir);
      }
    });
  }

  test('through pmond, with the directory swapped back and forth meanwhile: nothing outside comes through, pmond stays up', async () => {
    const dir = path.join(play, 'race');
    const log = await withLog(dir, 'race');
    for (let i = 1; i <= 60; i++) hers(`${log}.${i}`, `eve ${i}\n`);
    let swapped = false;
    const flip = (): void => {
      try {
        if (!swapped) {
          fs.renameSync(dir, `${dir}.away`);
          fs.symlinkSync(decoy, dir);
        } else {
          fs.unlinkSync(dir);
          fs.renameSync(`${dir}.away`, dir);
        }
        swapped = !swapped;
      } catch {
        /* mid-flip: next time */
      }
    };
    const timer = setInterval(flip, 3);
    try {
      for (let i = 0; i < 8; i++) {
        const r = await asEve(['log', 'race', '-a', '--json']);
        if (r.code !== 0) {
          // The current log itself may be what the swap hid (her shell would fail too).
          assert.match(r.stderr, /^pmon3: log /, r.stderr);
          continue;
        }
        const v = JSON.parse(r.stdout);
        assert.equal(v.text.includes(SECRET), false);
        for (const s of v.skipped) assert.match(s.why, /changed between|gone before|owned by uid 0|Permission denied/, `${s.name}: ${s.why}`);
      }
    } finally {
      clearInterval(timer);
      if (swapped) flip();
    }
    assert.equal((await d.run(['ls'])).code, 0, 'pmond answers');
    await asEve(['del', 'race', '-f']);
  });
});
