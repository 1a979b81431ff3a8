/**
 * log -a and logf -a against a real pmond: the rotated copies (.2.gz, .1) oldest first, then
 * the current log; --json carries files, skipped and notes; a copy that is not a regular file
 * is one line on stderr; logf -a then follows; without -a nothing changed (no new fields).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import { PMON3, TestDaemon } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';

let d: TestDaemon;
let log: string;
before(async () => {
  d = await TestDaemon.start();
  const p = await d.json(['exec', '/bin/sleep', '--name', 'rot', '-a', '300']);
  log = p.log;
  await waitFor('the log to exist', () => fs.existsSync(log));
  fs.writeFileSync(log, 'current 1\ncurrent 2\n');
  fs.writeFileSync(`${log}.1`, 'one a\none b\n');
  fs.writeFileSync(`${log}.2.gz`, zlib.gzipSync('two a\ntwo b\n'));
  fs.writeFileSync(path.join(d.logs, 'rotx.log.1'), 'another log\n');
  fs.writeFileSync(`${log}.old`, 'not a copy\n');
});
after(async () => {
  await d?.stop();
});

const ALL = 'two a\ntwo b\none a\none b\ncurrent 1\ncurrent 2\n';

test('log -a: the copies oldest first (.2.gz decompressed, then .1), then the current log; nothing on stderr', async () => {
  const r = await d.run(['log', 'rot', '-a']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, ALL);
  assert.equal((await d.run(['log', 'rot', '--all', '-n', '1'])).stdout, ALL, '-n does not apply');
});

test('log -a --json: path, the text of them all, files in order, skipped and notes', async () => {
  const v = await d.json(['log', 'rot', '-a']);
  assert.deepEqual(v, { path: log, text: ALL, files: [`${log}.2.gz`, `${log}.1`, log], skipped: [], notes: [] });
});

test('without -a: only the current log, and the reply has no new fields (what older clients get)', async () => {
  const v = await d.json(['log', 'rot', '-n', '1']);
  assert.deepEqual(v, { path: log, text: 'current 2\n' });
});

test('a copy that is not a regular file is skipped, one line on stderr each; the rest is read', async () => {
  execFileSync('mkfifo', [`${log}.3`]);
  fs.symlinkSync('/etc/passwd', `${log}.4.gz`);
  try {
    const r = await d.run(['log', 'rot', '-a']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ALL);
    assert.equal(r.stderr, `pmon3: log: skipped ${log}.3: a FIFO, not read\npmon3: log: skipped ${log}.4.gz: a symbolic link, not read\n`);
    const v = await d.json(['log', 'rot', '-a']);
    assert.deepEqual(v.skipped, [
      { name: `${log}.3`, why: 'a FIFO, not read' },
      { name: `${log}.4.gz`, why: 'a symbolic link, not read' },
    ]);
  } finally {
    fs.unlinkSync(`${log}.3`);
    fs.unlinkSync(`${log}.4.gz`);
  }
});

test('logf -a: the copies and the current log, then what is appended; --json ends the history with one files line', async () => {
  const follow = (json: boolean) => {
    const p = spawn(PMON3, ['logf', 'rot', '-a', ...(json ? ['--json'] : [])], { env: { ...process.env, PMON3_CONF: d.conf }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { text: '', err: '' };
    p.stdout!.on('data', (b: Buffer) => (out.text += b.toString()));
    p.stderr!.on('data', (b: Buffer) => (out.err += b.toString()));
    return { p, out };
  };
  const plain = follow(false);
  const json = follow(true);
  try {
    await waitFor('the history', () => plain.out.text === ALL && json.out.text.includes('"files"'));
    fs.appendFileSync(log, 'later\n');
    await waitFor('the appended line', () => plain.out.text === `${ALL}later\n` && json.out.text.includes('later'), 10_000);
    assert.equal(plain.out.err, '');
    const lines = json.out.text.trim().split('\n').map((l) => JSON.parse(l));
    const filesAt = lines.findIndex((l) => 'files' in l);
    assert.equal(lines.slice(0, filesAt).map((l) => l.data).join(''), ALL);
    assert.deepEqual(lines[filesAt], { files: [`${log}.2.gz`, `${log}.1`, log], skipped: [], notes: [] });
    assert.equal(lines.slice(filesAt + 1).map((l) => l.data).join(''), 'later\n');
  } finally {
    plain.p.kill('SIGINT');
    json.p.kill('SIGINT');
  }
});
