/**
 * Bad input: each gets a one-line error naming what was wrong and a non-zero
 * exit; the daemon stays up and nothing else changes.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';

let d: TestDaemon;
let baseline: string;
before(async () => {
  d = await TestDaemon.start();
  await d.json(['exec', '/bin/sleep', '--name', 'keeper', '-a', '300']);
  baseline = JSON.stringify((await d.ls()).map((p: any) => [p.id, p.name, p.pid, p.status]));
});
after(async () => {
  await d?.stop();
});

async function refused(args: string[], code: number, pattern: RegExp, opts: Parameters<TestDaemon['run']>[1] = {}): Promise<void> {
  const r = await d.run(args, opts);
  assert.equal(r.code, code, `exit code for ${JSON.stringify(args).slice(0, 120)}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, '');
  const now = JSON.stringify((await d.ls()).map((p: any) => [p.id, p.name, p.pid, p.status]));
  assert.equal(now, baseline, 'nothing else changed');
}

/** A file that is not executable, with no #! line and no extension an interpreter is known for. */
const notExec = (): string => {
  const f = path.join(d.dir, 'not-exec');
  fs.writeFileSync(f, 'echo hi\n', { mode: 0o644 });
  return f;
};

test('missing binary', () => refused(['exec', '/no/such/binary'], 2, /^pmon3: \/no\/such\/binary: No such file or directory$/));
test('a bare name not in PATH', () => refused(['exec', 'no-such-command-xyz'], 2, /^pmon3: no-such-command-xyz: command not found$/));
test('a directory as binary', () => refused(['exec', '/tmp'], 2, /^pmon3: \/tmp: Is a directory$/));
test('a non-executable file with no #! line or known extension', () => refused(['exec', notExec()], 2, /not-exec is not executable and has no #! line or known extension: chmod \+x it, or give --interpreter BIN$/));
test('a non-executable file run as it is (--interpreter none)', () => refused(['exec', notExec(), '--interpreter', 'none'], 2, /: Permission denied$/));
test('an interpreter that is not there', () => refused(['exec', notExec(), '--interpreter', 'no-such-interp-xyz'], 2, /^pmon3: no-such-interp-xyz: command not found \(--interpreter\)$/));
test('a word after the binary that is not after --', () =>
  refused(['exec', '/bin/sleep', '-n', '100'], 2, /^pmon3: exec: unexpected "100" after "\/bin\/sleep": the program's arguments go after -- \(pmon3 exec \/bin\/sleep -- 100\) or in --args \(-n is --no-autorestart; the process name is --name\)$/));
test('the reserved name all', () => refused(['exec', '/bin/sleep', '--name', 'all', '-a', '1'], 2, /must not be "all"/));
test('unknown user', () => refused(['exec', '/bin/sleep', '-u', 'no-such-user-xyz', '-a', '1'], 2, /user "no-such-user-xyz" does not exist/));
test('duplicate name', () => refused(['exec', '/bin/sleep', '--name', 'keeper', '-a', '1'], 4, /process "keeper" already exists/));

const badNames: Array<[string, string]> = [
  ['slash', 'a/b'],
  ['dot-dot', '../x'],
  ['dot-dot inside', 'a..b'],
  ['space', 'a b'],
  ['double quote', 'a"b'],
  ['single quote', "a'b"],
  ['command substitution', '$(touch /tmp/pmon3-pwned)'],
  ['backticks', '`id`'],
  ['10 000 characters', 'x'.repeat(10_000)],
  ['leading dash', '-rf'],
  ['newline', 'a\nb'],
];
for (const [what, name] of badNames) {
  test(`name with ${what}`, () => refused(['exec', '/bin/sleep', `--name=${name}`, '-a', '1'], 2, /name/));
}
test('empty name', () => refused(['exec', '/bin/sleep', '--name=', '-a', '1'], 2, /name/));
test('a binary whose file name is no valid name needs --name', async () => {
  const f = path.join(d.dir, 'has space.sh');
  fs.writeFileSync(f, '#!/bin/sh\nsleep 1\n', { mode: 0o755 });
  await refused(['exec', f], 2, /use --name/);
});
test('nothing was executed by any of the names', () => {
  assert.equal(fs.existsSync('/tmp/pmon3-pwned'), false);
});

test('unknown id and unknown name', async () => {
  await refused(['desc', '9999'], 3, /process "9999" not found/);
  await refused(['stop', 'nobody-here'], 3, /process "nobody-here" not found/);
  await refused(['restart', 'nobody-here'], 3, /not found/);
  await refused(['del', 'nobody-here'], 3, /not found/);
  await refused(['log', 'nobody-here'], 3, /not found/);
  await refused(['reset', 'nobody-here'], 3, /not found/);
});

test('bad quoting in --args and bad --env-vars', async () => {
  await refused(['exec', '/bin/sleep', '--name', 'q', '-a', '"unterminated'], 2, /unterminated double quote/);
  await refused(['exec', '/bin/sleep', '--name', 'q', '-e', 'NOVALUE'], 2, /must be NAME=value/);
  await refused(['exec', '/bin/sleep', '--name', 'q', '-e', 'BAD-NAME=1'], 2, /letters, digits and _/);
});

test('a missing cwd', () => refused(['exec', '/bin/sleep', '--name', 'q', '--cwd', '/no/such/dir', '-a', '1'], 2, /^pmon3: cd: \/no\/such\/dir: No such file or directory$/));

test('a log path through a symlink is refused', async () => {
  const link = path.join(d.dir, 'evil.log');
  fs.symlinkSync(path.join(d.dir, 'target.txt'), link);
  await refused(['exec', '/bin/sleep', '--name', 'q', '-l', link, '-a', '1'], 2, /symbolic link/);
  assert.equal(fs.existsSync(path.join(d.dir, 'target.txt')), false);
});

test('bad flags are refused by the parser', async () => {
  const r = await d.run(['ls', '--no-such-flag']);
  assert.equal(r.code, 2);
  const s = await d.run(['stop']);
  assert.notEqual(s.code, 0);
});

test('the daemon is still up and answers', async () => {
  const v = await d.json(['version']);
  assert.ok(v.pmond);
  assert.equal((await d.get('keeper')).status, 'running');
});

test('relative fixture paths still work after all that', async () => {
  const p = await d.json(['exec', './crash.sh', '--name', 'fine', '-n', '-a', '0 0'], { cwd: FIXTURES });
  assert.equal(p.name, 'fine');
  await d.json(['del', 'fine']);
});
