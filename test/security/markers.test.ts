/**
 * Forged markers. pmond's children carry PMON3_DAEMON_ID, PMON3_PROCESS_ID and
 * PMON3_PROCESS_NAME, and at start pmond walks /proc for them. The daemon id
 * is in the environment of the user's own children, so any user can start a
 * process that carries it with whatever id and name they like. The attack:
 * ids like 1e300 or 9007199254740991 that, reserved, left sqlite_sequence
 * unusable (every exec failed with SQLITE_MISMATCH, root's ls broke, across
 * restarts); a marker that claims root's row; a name built to flood or
 * garble pmond.log. A forged marker may cost pmond one log line at start,
 * nothing else. Needs root; skips visibly otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { TestDaemon } from '../helpers/daemon';
import { sqlite } from '../helpers/os';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';

const skip = isRoot() ? false : 'needs root to create users and run a root pmond';
const users = new TestUsers();
let d: TestDaemon;
let mal: TestUser;
const forged: ChildProcess[] = [];

before(async () => {
  if (skip) return;
  mal = users.add('pmon3-mk-mal');
  d = await TestDaemon.start();
});
after(async () => {
  for (const f of forged) f.kill('SIGKILL');
  await d?.stop();
  users.cleanup();
});

const db = (): string => path.join(d.data, 'data.db');
const pmondLog = (): string => fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8');
const seq = (): number => {
  const h = new SQLite(db(), { readonly: true });
  try {
    return Number(h.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'processes'").pluck().get());
  } finally {
    h.close();
  }
};

/** As mal: `setsid env -i PMON3_DAEMON_ID=… PMON3_PROCESS_ID=… PMON3_PROCESS_NAME=… sleep 2000`. */
async function forge(daemonId: string, id: string, name: string): Promise<number> {
  const [cmd, argv] = asUserArgv(mal, ['setsid', 'env', '-i', `PMON3_DAEMON_ID=${daemonId}`, `PMON3_PROCESS_ID=${id}`, `PMON3_PROCESS_NAME=${name}`, 'sleep', '2000']);
  const p = spawn(cmd, argv, { stdio: 'ignore' });
  forged.push(p);
  await waitFor(`the forged marker ${id.slice(0, 20)}`, () => {
    try {
      return fs.readFileSync(`/proc/${p.pid}/environ`, 'utf8').includes(`PMON3_PROCESS_ID=${id}\0`);
    } catch {
      return false;
    }
  });
  return p.pid!;
}

describe('markers a user forges', { skip }, () => {
  test('huge, malformed and stolen ids: pmond restarts, exec and ls work with small ids, nobody\'s process is adopted or signalled, pmond.log stays short', async () => {
    const root = await d.json(['exec', '/bin/sleep', '--name', 'root-app', '--', '300']);
    const mine = await d.run(['exec', '/bin/sleep', '--name', 'mine', '--json', '--', '300'], { as: mal });
    assert.equal(mine.code, 0, mine.stderr);
    const minePid = JSON.parse(mine.stdout).pid as number;
    d.seenPids.add(minePid);
    // The daemon id, as mal reads it from her own child's environment.
    const env = execFileSync(...asUserArgv(mal, ['cat', `/proc/${minePid}/environ`]), { encoding: 'utf8' });
    const daemonId = /(?:^|\0)PMON3_DAEMON_ID=([^\0]*)/.exec(env)![1]!;
    const pids = {
      e300: await forge(daemonId, '1e300', 'evil'),
      maxSafe: await forge(daemonId, '9007199254740991', 'evil2'),
      over31: await forge(daemonId, '4294967295', 'evil3'),
      big: await forge(daemonId, '2147483000', 'evil4'),
      negative: await forge(daemonId, '-5', 'evil5'),
      roots: await forge(daemonId, String(root.id), 'root-app'),
      noisy: await forge(daemonId, '77', `${'x'.repeat(3000)}\x1b[2J`),
    };
    // pmond goes down; root's child dies meanwhile and its row lags behind, so only mal's forgery
    // claims root's row.
    await d.crash();
    process.kill(-root.pid, 'SIGKILL');
    await waitFor('root\'s child gone', () => !pidAlive(root.pid));
    sqlite(db(), 'UPDATE processes SET pid = ?, pid_start_time = ? WHERE id = ?', 999_999_999, 1, root.id);
    const logBefore = pmondLog().split('\n').length;
    await d.launch();
    // Every exec works, with the next small id.
    const next = await d.json(['exec', '/bin/sleep', '--name', 'after', '--', '300']);
    assert.ok(next.id > root.id && next.id < 100, `new id ${next.id}`);
    const theirs = await d.run(['exec', '/bin/sleep', '--name', 'after', '--json', '--', '300'], { as: mal });
    assert.equal(theirs.code, 0, theirs.stderr);
    d.seenPids.add(JSON.parse(theirs.stdout).pid);
    assert.equal(JSON.parse(theirs.stdout).id, next.id + 1);
    const all = await d.ls();
    assert.equal(all.length, 4);
    // root's row was started afresh, not given mal's forgery.
    const r = all.find((p) => p.name === 'root-app');
    assert.equal(r.status, 'running');
    assert.notEqual(r.pid, pids.roots);
    assert.equal(r.user, 'root');
    // No forged process was signalled.
    for (const [what, pid] of Object.entries(pids)) assert.ok(pidAlive(pid), `${what} still runs`);
    // At most one line about each stray, none longer than a name can be.
    const added = pmondLog().split('\n').slice(logBefore - 1);
    assert.ok(added.length < 40, `pmond.log grew by ${added.length} lines`);
    for (const line of added) assert.ok(line.length < 600, `a line of ${line.length} bytes: ${line.slice(0, 120)}`);
    assert.equal(added.some((l) => l.includes('\x1b')), false);
    assert.match(added.join('\n'), new RegExp(`pid ${pids.roots} \\(root-app, uid ${mal.uid}\\)`));
    await d.terminate();
    assert.ok(seq() < 100, `sqlite_sequence ${seq()}`);
    await d.launch();
    for (const name of ['after', 'root-app']) await d.json(['del', name, '-f']);
    assert.equal((await d.run(['drop', '-f'], { as: mal })).code, 0);
  });

  test('a table whose sqlite_sequence an older pmond already set to 1e300 is mended at start', async () => {
    await d.terminate();
    sqlite(db(), "UPDATE sqlite_sequence SET seq = 1e300 WHERE name = 'processes'");
    await d.launch();
    const p = await d.json(['exec', '/bin/sleep', '--name', 'mended', '--', '300']);
    assert.ok(p.id < 100, `new id ${p.id}`);
    assert.match(pmondLog(), /sqlite_sequence/);
    assert.equal((await d.ls()).length, 1);
    await d.json(['del', 'mended', '-f']);
  });
});
