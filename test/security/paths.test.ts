/**
 * Class 2 of the hardening issue: every path a user names is touched with
 * that user's rights, every time — creating the log, `log`, `logf` and every
 * reopen `logf` does. The audit's attack: follow a log, then swap its
 * directory for a symlink to /etc (or a root-only directory holding a file
 * of the same name) and read root's secrets through pmond. Also: pmond's own
 * directories and log are never handed to a user, and an existing file is
 * never chowned. Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
let d: TestDaemon;
let eve: TestUser;
let play: string;
/** A root-only directory with a secret named like eve's log. */
let vault: string;
const SECRET = 'ROOT-SECRET-7f3a';

before(async () => {
  if (skip) return;
  eve = users.add('pa-eve');
  d = await TestDaemon.start();
  play = tempDir('pmq-');
  fs.chmodSync(play, 0o755);
  fs.chownSync(play, eve.uid, eve.gid);
  vault = tempDir('pmv-');
  fs.chmodSync(vault, 0o700);
  fs.writeFileSync(path.join(vault, 'app.log'), `${SECRET}\n`, { mode: 0o600 });
});
after(async () => {
  await d?.stop();
  users.cleanup();
  for (const dir of [play, vault]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const asEve = (args: string[]) => d.run(args, { as: eve, cwd: play });

/** A ticker that writes a line every 50 ms. */
const ticker = (): string => {
  const f = path.join(play, 'tick.sh');
  if (!fs.existsSync(f)) {
    fs.writeFileSync(f, '#!/bin/sh\ni=0\nwhile :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done\n', { mode: 0o755 });
  }
  return f;
};

describe('logf never follows a swapped directory out of the user\'s reach', { skip }, () => {
  test('swap the log\'s directory for a symlink to a root-only directory, and to /etc: no secret comes through', async () => {
    const dir = path.join(play, 'e');
    fs.mkdirSync(dir);
    fs.chownSync(dir, eve.uid, eve.gid);
    const log = path.join(dir, 'app.log');
    const r = await asEve(['exec', ticker(), '--name', 'swap-logf', '-l', log, '--json']);
    assert.equal(r.code, 0, r.stderr);
    d.seenPids.add(JSON.parse(r.stdout).pid);
    await waitFor('the ticker to write', () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('tick 2'));
    // eve follows her log...
    const [cmd, argv] = asUserArgv(eve, [path.join(__dirname, '..', '..', '..', 'bin', 'pmon3'), 'logf', 'swap-logf', '-n', '1']);
    const follower = spawn(cmd, argv, { env: { ...process.env, PMON3_CONF: d.conf }, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    follower.stdout!.on('data', (b: Buffer) => (seen += b.toString()));
    try {
      await waitFor('logf to stream', () => seen.includes('tick'));
      // ...and swaps the directory for a symlink to a root-only directory with an app.log, then to /etc.
      fs.renameSync(dir, path.join(play, 'e.old'));
      fs.symlinkSync(vault, dir);
      fs.lchownSync(dir, eve.uid, eve.gid);
      const before = seen.length;
      // logf polls every 250 ms: give it several rounds (the old file keeps ticking meanwhile).
      await waitFor('logf to go on reading the old file', () => seen.length > before + 200 && (seen.match(/tick/g)?.length ?? 0) > 20, 10_000);
      fs.unlinkSync(dir);
      fs.symlinkSync('/etc', dir);
      fs.lchownSync(dir, eve.uid, eve.gid);
      const mark = seen.length;
      await waitFor('more rounds', () => seen.length > mark + 200, 10_000);
      assert.equal(seen.includes(SECRET), false, 'the secret never reached eve');
      assert.equal(seen.includes('root:'), false, 'no /etc file reached eve');
    } finally {
      follower.kill('SIGKILL');
    }
    // `log` now answers as eve's shell would: she may not read the vault. Same answer for a name that is not there.
    fs.unlinkSync(dir);
    fs.symlinkSync(vault, dir);
    fs.lchownSync(dir, eve.uid, eve.gid);
    const a = await asEve(['log', 'swap-logf']);
    fs.unlinkSync(dir);
    fs.symlinkSync(path.join(vault, 'nope'), dir);
    fs.lchownSync(dir, eve.uid, eve.gid);
    const b = await asEve(['log', 'swap-logf']);
    fs.unlinkSync(dir);
    fs.symlinkSync(vault, dir);
    assert.equal(a.code, 5);
    assert.equal(a.stderr, `pmon3: log ${log}: Permission denied\n`);
    assert.equal(b.stderr.replace('/nope', ''), a.stderr.replace('/nope', ''));
    assert.equal(a.stdout.includes(SECRET), false);
    await asEve(['del', 'swap-logf', '-f']);
  });

  test('a log replaced by a symlink, or by a file she does not own, is refused', async () => {
    const log = path.join(play, 'plain.log');
    const r = await asEve(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'plain', '-n', '-l', log, '-a', '0 0', '--json']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor('log written', () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('out pid'));
    assert.equal(fs.statSync(log).uid, eve.uid, 'created with her rights');
    fs.unlinkSync(log);
    fs.symlinkSync('/etc/shadow', log);
    const a = await asEve(['log', 'plain']);
    assert.equal(a.code, 5);
    assert.match(a.stderr, /symbolic link/);
    fs.unlinkSync(log);
    fs.writeFileSync(log, `${SECRET}\n`, { mode: 0o644 }); // root's, readable by all: still not hers
    const b = await asEve(['log', 'plain']);
    assert.equal(b.code, 5);
    assert.match(b.stderr, /not a regular file owned by the process's user/);
    assert.equal(b.stdout.includes(SECRET), false);
    await asEve(['del', 'plain']);
  });
});

describe('pmond\'s own directories and files are never handed to a user', { skip }, () => {
  test('--log and --log-dir into logs_dir or data_dir are refused', async () => {
    for (const args of [
      ['-l', path.join(d.logs, 'mine.log')],
      ['-l', path.join(d.logs, 'pmond.log')],
      ['-l', path.join(d.data, 'x.log')],
      ['-d', d.logs],
      ['-d', path.join(d.logs, eve.name)],
      ['-l', path.join(d.logs, '..', 'logs', 'sub', 'x.log')],
    ]) {
      const r = await asEve(['exec', '/bin/sleep', '--name', 'intruder', ...args, '--', '300']);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /inside pmond's own directory/);
    }
  });

  test('--log through a symlink to logs_dir is refused too (the directory is compared, not the path)', async () => {
    // Her default log, a file of hers in logs_dir...
    const own = await asEve(['exec', '/bin/sleep', '--name', 'real', '--json', '--', '300']);
    assert.equal(own.code, 0, own.stderr);
    d.seenPids.add(JSON.parse(own.stdout).pid);
    // ...reached again through ~/L -> logs_dir, which no string comparison sees.
    const link = path.join(play, 'L');
    fs.symlinkSync(d.logs, link);
    fs.lchownSync(link, eve.uid, eve.gid);
    const dataLink = path.join(play, 'D');
    fs.symlinkSync(d.data, dataLink);
    fs.lchownSync(dataLink, eve.uid, eve.gid);
    try {
      for (const args of [
        ['-l', path.join(link, eve.name, 'real.log')],
        ['-l', path.join(link, eve.name, 's1.log')],
        ['-d', link],
        ['-l', path.join(dataLink, 'x.log')],
      ]) {
        const r = await asEve(['exec', '/bin/sleep', '--name', 'sneak', ...args, '--', '300']);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        if (!args[1]!.startsWith(dataLink)) assert.match(r.stderr, /inside pmond's own directory/, args.join(' '));
      }
      // A symlink to her own directory elsewhere is fine.
      const mineLink = path.join(play, 'M');
      fs.symlinkSync(play, mineLink);
      fs.lchownSync(mineLink, eve.uid, eve.gid);
      const ok = await asEve(['exec', '/bin/sleep', '--name', 'elsewhere', '-l', path.join(mineLink, 'sub', 'e.log'), '--json', '--', '300']);
      assert.equal(ok.code, 0, ok.stderr);
      d.seenPids.add(JSON.parse(ok.stdout).pid);
      assert.ok(fs.existsSync(path.join(play, 'sub', 'e.log')));
    } finally {
      for (const n of ['real', 'elsewhere']) await asEve(['del', n, '-f']);
      for (const l of [link, dataLink, path.join(play, 'M')]) fs.rmSync(l, { force: true });
    }
  });

  test('a process named pmond never gets pmond.log; its log is in the user\'s own directory', async () => {
    const own = path.join(d.logs, 'pmond.log');
    const before = fs.statSync(own);
    const r = await asEve(['exec', '/bin/sleep', '--name', 'pmond', '--json', '--', '300']);
    assert.equal(r.code, 0, r.stderr);
    const p = JSON.parse(r.stdout);
    d.seenPids.add(p.pid);
    assert.equal(p.log, path.join(d.logs, eve.name, 'pmond.log'));
    const after = fs.statSync(own);
    assert.equal(after.uid, 0);
    assert.equal(after.mode & 0o777, 0o600);
    assert.equal(after.ino, before.ino);
    assert.equal(fs.statSync(p.log).uid, eve.uid);
    await asEve(['del', 'pmond', '-f']);
    // root's own process of that name would log into pmond.log: refused.
    const rr = await d.run(['exec', '/bin/sleep', '--name', 'pmond', '--', '300']);
    assert.equal(rr.code, 2);
    assert.match(rr.stderr, /pmond's own log/);
  });

  test('an existing file in logs_dir is never chowned: a log that is not hers is refused', async () => {
    const dir = path.join(d.logs, eve.name);
    fs.mkdirSync(dir, { recursive: true });
    const planted = path.join(dir, 'taken.log');
    fs.writeFileSync(planted, 'root wrote this\n', { mode: 0o600 });
    const r = await asEve(['exec', '/bin/sleep', '--name', 'taken', '--', '300']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a regular file owned by uid/);
    const st = fs.statSync(planted);
    assert.equal(st.uid, 0, 'still root\'s');
    assert.equal(st.mode & 0o777, 0o600);
    fs.unlinkSync(planted);
  });
});

describe('logs pmond made in logs_dir do not outlive their process', { skip }, () => {
  const mine = (): string => path.join(d.logs, eve.name);

  test('del removes the default log and its rotated copies, nothing else', async () => {
    const r = await asEve(['exec', '/bin/sleep', '--name', 'gone', '--json', '--', '300']);
    assert.equal(r.code, 0, r.stderr);
    const log = JSON.parse(r.stdout).log as string;
    d.seenPids.add(JSON.parse(r.stdout).pid);
    assert.equal(log, path.join(mine(), 'gone.log'));
    assert.ok(fs.existsSync(log));
    // What logrotate leaves (copies keep the log's owner), and files of other names.
    const rotated = ['gone.log.1', 'gone.log.2.gz', 'gone.log-20240101', 'gone.log-20240102.gz'].map((f) => path.join(mine(), f));
    const others = ['gone.log.bak', 'gonex.log', 'gone.logger'].map((f) => path.join(mine(), f));
    for (const f of [...rotated, ...others]) {
      fs.writeFileSync(f, 'old\n');
      fs.chownSync(f, eve.uid, eve.gid);
    }
    assert.equal((await asEve(['del', 'gone', '-f'])).code, 0);
    for (const f of [log, ...rotated]) assert.equal(fs.existsSync(f), false, `${f} removed`);
    for (const f of others) {
      assert.ok(fs.existsSync(f), `${f} kept`);
      fs.unlinkSync(f);
    }
  });

  test('drop removes every default log; a log she chose elsewhere stays', async () => {
    const chosen = path.join(play, 'kept.log');
    for (const args of [['--name', 'd1'], ['--name', 'd2'], ['--name', 'd3', '-l', chosen]]) {
      const r = await asEve(['exec', '/bin/sleep', ...args, '--json', '--', '300']);
      assert.equal(r.code, 0, r.stderr);
      d.seenPids.add(JSON.parse(r.stdout).pid);
    }
    await waitFor('the logs to exist', () => fs.existsSync(path.join(mine(), 'd2.log')) && fs.existsSync(chosen));
    assert.equal((await asEve(['drop', '-f'])).code, 0);
    assert.equal(fs.existsSync(path.join(mine(), 'd1.log')), false);
    assert.equal(fs.existsSync(path.join(mine(), 'd2.log')), false);
    assert.ok(fs.existsSync(chosen), 'her own --log is hers to remove');
  });

  test('an exec that fails leaves no log behind', async () => {
    const r = await asEve(['exec', '/bin/sleep', '--name', 'nocwd', '--cwd', '/nonexistent-dir', '--', '300']);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(fs.existsSync(path.join(mine(), 'nocwd.log')), false);
  });

  test('files left in her directory of logs_dir are bounded: past the bound a new default log is refused', async () => {
    // Leftovers (from before pmond removed logs, or a crash between the two): 16 per process allowed.
    const d2 = await TestDaemon.start({ config: { max_processes_per_user: 2 } });
    try {
      const first = await d2.run(['exec', '/bin/sleep', '--name', 'one', '--json', '--', '300'], { as: eve });
      assert.equal(first.code, 0, first.stderr);
      d2.seenPids.add(JSON.parse(first.stdout).pid);
      const hers = path.join(d2.logs, eve.name);
      for (let i = 0; i < 32; i++) fs.writeFileSync(path.join(hers, `left-${i}.log`), '');
      const r = await d2.run(['exec', '/bin/sleep', '--name', 'two', '--', '300'], { as: eve });
      assert.equal(r.code, 6, r.stderr);
      assert.match(r.stderr, new RegExp(`${hers.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} holds 33 files`));
      // Root is not bound; and with room again she may.
      await d2.json(['exec', '/bin/sleep', '--name', 'two', '-u', eve.name, '--', '300']);
      await d2.json(['del', `${eve.name}/two`, '-f']);
      for (let i = 0; i < 32; i++) fs.unlinkSync(path.join(hers, `left-${i}.log`));
      const again = await d2.run(['exec', '/bin/sleep', '--name', 'two', '--json', '--', '300'], { as: eve });
      assert.equal(again.code, 0, again.stderr);
      d2.seenPids.add(JSON.parse(again.stdout).pid);
    } finally {
      await d2.stop();
    }
  });
});
