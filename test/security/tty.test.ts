/**
 * The controlling-terminal hijack. pmond runs as a session leader without a
 * terminal (as under systemd or setsid). A session leader that opens a
 * terminal without O_NOCTTY makes it its controlling terminal: whoever holds
 * the master side then drives pmond with ^C (SIGINT: shutdown, every user's
 * processes stopped), ^Z (SIGTSTP: stopped), ^\ (SIGQUIT) and a hangup.
 * The attack: a user points their --log into a directory, swaps the
 * directory for a symlink to /dev/pts, and asks for `pmon3 log`, so that the
 * log open lands on a pty whose master they hold. pmond must come out of it
 * without a terminal; and, as a second defence, the job-control signals do
 * not stop it. Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
let d: TestDaemon;
let tom: TestUser;
let play: string;

before(async () => {
  if (skip) return;
  tom = users.add('pmon3-tt-tom');
  d = await TestDaemon.start({ setsid: true });
  play = fs.mkdtempSync('/tmp/pmy-');
  fs.chmodSync(play, 0o755);
  fs.chownSync(play, tom.uid, tom.gid);
});
after(async () => {
  await d?.stop();
  users.cleanup();
  if (play) fs.rmSync(play, { recursive: true, force: true });
});

/** Fields of /proc/PID/stat after the command name: [0] state, [4] tty_nr. */
const stat = (pid: number): string[] => {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
};

/**
 * Run as the user: make a pty (never their own controlling terminal), print the slave's
 * number, then for each line on stdin write that control character to the master and wait
 * for its echo (the line discipline raises the signal before it echoes), or close the master.
 */
const PTY = `
import os, pty, select, sys
m, s = os.openpty()
print(os.ttyname(s).rsplit('/', 1)[1], flush=True)
keys = {'C': b'\\x03', 'Z': b'\\x1a', 'Q': b'\\x1c'}
for line in sys.stdin:
    c = line.strip()
    if c == 'hangup':
        os.close(m)
        print('closed', flush=True)
        continue
    os.write(m, keys[c])
    out = b''
    while b'^' not in out:
        r, _, _ = select.select([m], [], [], 5)
        if not r:
            break
        out += os.read(m, 100)
    print('echo ' + out.hex(), flush=True)
`;

class Pty {
  private out = '';
  constructor(readonly proc: ChildProcess) {
    proc.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
  }
  async line(what: string, re: RegExp): Promise<RegExpExecArray> {
    return waitFor(what, () => re.exec(this.out));
  }
  async press(key: 'C' | 'Z' | 'Q'): Promise<void> {
    const before = (this.out.match(/^echo /gm) ?? []).length;
    this.proc.stdin!.write(`${key}\n`);
    await waitFor(`the echo of ${key}`, () => (this.out.match(/^echo /gm) ?? []).length > before);
  }
  async hangup(): Promise<void> {
    this.proc.stdin!.write('hangup\n');
    await this.line('the master to close', /^closed$/m);
  }
}

describe('a terminal a user holds never becomes pmond\'s', { skip }, () => {
  test('log through a directory swapped for /dev/pts: pmond gets no controlling terminal and ^C, ^Z, ^\\ and hangup reach it not', async () => {
    assert.equal(stat(d.pid)[4], '0', 'pmond starts without a controlling terminal');
    const [cmd, argv] = asUserArgv(tom, ['/usr/bin/python3', '-c', PTY]);
    const pty = new Pty(spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] }));
    try {
      const n = (await pty.line('the pty', /^(\d+)$/m))[1]!;
      const dir = path.join(play, 'd');
      fs.mkdirSync(dir);
      fs.chownSync(dir, tom.uid, tom.gid);
      const r = await d.run(['exec', '/bin/sleep', '--name', 'tty', '-l', path.join(dir, n), '--json', '--', '300'], { as: tom });
      assert.equal(r.code, 0, r.stderr);
      d.seenPids.add(JSON.parse(r.stdout).pid);
      // The swap: the log's directory becomes /dev/pts, so the log's path names tom's pty.
      fs.renameSync(dir, path.join(play, 'd.old'));
      fs.symlinkSync('/dev/pts', dir);
      fs.lchownSync(dir, tom.uid, tom.gid);
      const l = await d.run(['log', 'tty'], { as: tom });
      assert.notEqual(l.code, 0, 'a terminal is not a log');
      assert.equal(stat(d.pid)[4], '0', 'pmond still has no controlling terminal');
      for (const key of ['C', 'Z', 'Q'] as const) {
        await pty.press(key);
        assert.equal((await d.run(['ls'])).code, 0, `pmond answers after ${key}`);
        assert.notEqual(stat(d.pid)[0], 'T', `pmond is not stopped after ${key}`);
      }
      await pty.hangup();
      assert.equal((await d.run(['ls'])).code, 0, 'pmond answers after the hangup');
      assert.ok(pidAlive(d.pid));
      const own = fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8');
      assert.doesNotMatch(own, /received SIG(INT|TERM|QUIT)|shutting down/);
      assert.equal((await d.json(['desc', 'tty'], { as: tom })).status, 'running', 'tom\'s process was not stopped');
    } finally {
      pty.proc.kill('SIGKILL');
    }
  });

  test('job-control signals do not stop pmond; a hangup or SIGQUIT does not end it', async () => {
    // A pmond in a process group that is not orphaned (started from a shell, not setsid): there
    // the kernel does stop a process for SIGTSTP, SIGTTIN and SIGTTOU unless it handles them.
    const fg = await TestDaemon.start();
    try {
      for (const sig of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGHUP', 'SIGQUIT'] as const) {
        process.kill(fg.pid, sig);
        assert.equal((await fg.run(['ls'], { timeoutMs: 15_000 })).code, 0, `pmond answers after ${sig}`);
        assert.notEqual(stat(fg.pid)[0], 'T', `pmond is not stopped by ${sig}`);
      }
      assert.ok(pidAlive(fg.pid));
    } finally {
      process.kill(fg.pid, 'SIGCONT');
      await fg.stop();
    }
  });
});
