/** Run claims: one line per claim, the last of each app read back, torn lines skipped, compaction, a write that fails says so. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { RunClaims } from '../../internal/schedule/claims';
import { recordingLogger } from '../helpers/store';
import { tempDir } from '../helpers/tmp';

test('claims: the last claim of each app survives a new reader; a torn or foreign line is skipped', () => {
  const dir = tempDir('pmcl-');
  const file = path.join(dir, 'run-claims');
  const a = new RunClaims(file, recordingLogger());
  assert.deepEqual([...a.load()], []);
  assert.equal(a.claim(1, 1000), true);
  assert.equal(a.claim(2, 5000), true);
  assert.equal(a.claim(1, 2000), true);
  // No close: a pmond killed right here has written every line (write(2), the page cache).
  fs.appendFileSync(file, '3 9\nnot a claim\n4 12'); // a torn line (a write cut short) ...
  fs.appendFileSync(file, '5 1e9\n'); // ... runs into the next: "4 125 1e9", skipped whole
  const b = new RunClaims(file, recordingLogger());
  assert.deepEqual([...b.load()].sort(), [[1, 2000], [2, 5000], [3, 9]]);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  a.close();
  b.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('claims: compacted past its size to the last claim of each app; a file that cannot be written is false, said once', () => {
  const dir = tempDir('pmcl-');
  const file = path.join(dir, 'run-claims');
  const c = new RunClaims(file, recordingLogger());
  c.load();
  for (let i = 0; i < 30_000; i++) c.claim(i % 10, i);
  assert.ok(fs.statSync(file).size < 300 * 1024, `bounded: ${fs.statSync(file).size} bytes`);
  const back = new RunClaims(file, recordingLogger()).load();
  for (let k = 0; k < 10; k++) assert.equal(back.get(k), 29_990 + k);
  c.close();
  // A link planted where the file goes is not followed (O_NOFOLLOW): the claim fails, once in the log.
  const other = path.join(dir, 'elsewhere');
  fs.writeFileSync(other, '');
  const linked = path.join(dir, 'linked');
  fs.symlinkSync(other, linked);
  const log = recordingLogger();
  const d = new RunClaims(linked, log);
  d.load();
  assert.equal(d.claim(1, 1), false);
  assert.equal(d.claim(1, 2), false);
  assert.equal(fs.readFileSync(other, 'utf8'), '');
  assert.equal(log.lines.filter((l) => l.msg.includes('cannot be written')).length, 1);
  fs.rmSync(dir, { recursive: true, force: true });
});
