/**
 * pmond's own log never kills pmond: a pmond.log that cannot be written
 * (ENOSPC from /dev/full here; a real full tmpfs in test/reliability), or
 * that is removed, or whose directory is removed, throws nothing and crashes
 * nothing; lines go on to stderr; pmond says once on stderr why the file
 * cannot be written, and comes back to it when it can.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../../internal/logger/logger';
import { watchUnhandled } from '../helpers/store';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

let root: string;
let n = 0;
const newDir = (): string => {
  const d = path.join(root, `l${++n}`);
  fs.mkdirSync(d);
  return d;
};

before(() => {
  root = tempDir('pmlg-');
});
after(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** A logger whose stderr is kept in a list. */
function logger(dir: string, level = 'info', retryMs?: number) {
  const err: string[] = [];
  const log = createLogger(dir, level, { stderr: (t) => void err.push(t), retryMs });
  return { log, err, notices: () => err.filter((l) => l.startsWith('pmond: ')) };
}

const fileText = (dir: string): string => fs.readFileSync(path.join(dir, 'pmond.log'), 'utf8');

test('lines go to pmond.log (0600) and stderr, in order, with meta; below the level nothing', async () => {
  const dir = newDir();
  const { log, err } = logger(dir, 'info');
  log.info('one');
  log.debug('not shown');
  log.warn('two', { pid: 42 });
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  log.error('three', cyclic);
  await log.close();
  const lines = fileText(dir).trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z info: one$/);
  assert.match(lines[1]!, /^\S+ warn: two \{"pid":42\}$/);
  assert.match(lines[2]!, /^\S+ error: three \[meta not shown: .*circular.*\]$/i);
  assert.deepEqual(err.join('').trimEnd().split('\n'), lines);
  assert.equal(fs.statSync(path.join(dir, 'pmond.log')).mode & 0o777, 0o600);
  log.info('after close: stderr only');
  assert.equal(fileText(dir).trimEnd().split('\n').length, 3);
});

test('ENOSPC (pmond.log is /dev/full): no throw, no crash, stderr goes on, said once; /dev/full left alone', async (t) => {
  const watch = watchUnhandled();
  t.after(() => watch.stop());
  const dir = newDir();
  const devFullMode = fs.statSync('/dev/full').mode;
  fs.symlinkSync('/dev/full', path.join(dir, 'pmond.log'));
  const { log, err, notices } = logger(dir);
  for (let i = 0; i < 50; i++) log.info(`line ${i}`);
  await waitFor('the failure to be noticed', () => notices().length > 0);
  for (let i = 50; i < 100; i++) log.warn(`line ${i}`);
  await log.close();
  assert.deepEqual(notices(), [`pmond: ${path.join(dir, 'pmond.log')} cannot be written (ENOSPC: no space left on device, write); pmond logs to stderr only until it can\n`]);
  assert.equal(err.filter((l) => / (info|warn): line \d+\n$/.test(l)).length, 100, 'every line on stderr');
  assert.equal(fs.statSync('/dev/full').mode, devFullMode, 'the mode of what pmond.log points at is not changed');
  assert.deepEqual(watch.errors, []);
});

test('pmond.log comes back once it can be written again', async () => {
  const dir = newDir();
  const file = path.join(dir, 'pmond.log');
  fs.symlinkSync('/dev/full', file);
  const { log, notices } = logger(dir, 'info', 50);
  log.info('lost to the file');
  await waitFor('the failure to be noticed', () => notices().length === 1);
  fs.unlinkSync(file); // now a plain file can be made
  await waitFor('the file to be written again', () => {
    log.info('retry');
    return fs.existsSync(file) && fileText(dir).includes('retry');
  });
  await log.close();
  assert.match(notices()[0]!, /cannot be written \(ENOSPC/);
  assert.match(fileText(dir), /info: .*pmond\.log writable again \(was: ENOSPC: no space left on device, write\)\n/);
  assert.doesNotMatch(fileText(dir), /lost to the file/);
});

test('pmond.log removed: made again at the next line', async () => {
  const dir = newDir();
  const { log, notices } = logger(dir);
  log.info('first');
  await waitFor('first line', () => fileText(dir).includes('first'));
  fs.unlinkSync(path.join(dir, 'pmond.log'));
  log.info('second');
  await waitFor('pmond.log made again', () => fs.existsSync(path.join(dir, 'pmond.log')) && fileText(dir).includes('second'));
  await log.close();
  assert.doesNotMatch(fileText(dir), /first/);
  assert.deepEqual(notices(), []);
});

test('logs_dir removed: said once on stderr (ENOENT), nothing thrown', async (t) => {
  const watch = watchUnhandled();
  t.after(() => watch.stop());
  const dir = newDir();
  const { log, err, notices } = logger(dir);
  log.info('first');
  await waitFor('first line', () => fileText(dir).includes('first'));
  fs.rmSync(dir, { recursive: true });
  for (let i = 0; i < 10; i++) log.error(`still here ${i}`);
  await waitFor('the failure to be noticed', () => notices().length > 0);
  await log.close();
  assert.equal(notices().length, 1);
  assert.match(notices()[0]!, /pmond\.log cannot be written \(ENOENT: no such file or directory/);
  assert.equal(err.filter((l) => l.includes('still here')).length, 10);
  assert.deepEqual(watch.errors, []);
});

test('a logs_dir that cannot be opened at all at start: stderr only, said once', async () => {
  const missing = path.join(root, 'never-made');
  const { log, err, notices } = logger(missing);
  log.info('hello');
  await log.close();
  assert.equal(notices().length, 1);
  assert.match(notices()[0]!, /cannot be written \(ENOENT/);
  assert.ok(err.some((l) => l.endsWith('info: hello\n')));
  assert.equal(fs.existsSync(missing), false);
});
