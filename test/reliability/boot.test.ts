/**
 * What a starting pmond trusts. Its children carry its mark (PMON3_DAEMON_ID,
 * PMON3_PROCESS_ID) and run as their row's user, so a row that lags behind
 * (a wrong pid), a lost table, or an unreadable one never leads to a second
 * copy; a pid recorded in another boot is never adopted nor signalled.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon } from '../helpers/daemon';
import { liveInstances, readStartTime, sqlite } from '../helpers/os';
import { pidAlive, waitFor } from '../helpers/wait';

let d: TestDaemon;
const strays: ChildProcess[] = [];

before(async () => {
  d = await TestDaemon.start();
});
after(async () => {
  await d?.stop();
  for (const s of strays) s.kill('SIGKILL');
});

const db = (): string => path.join(d.data, 'data.db');
const pmondLog = (): string => fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8');

describe('a row that lags behind its process', () => {
  test('a wrong pid in the row: the live child is found by its markers and re-adopted, not started twice', async () => {
    const p = await d.json(['exec', '/bin/sleep', '--name', 'lagging', '--', '300']);
    await d.crash();
    sqlite(db(), 'UPDATE processes SET pid = ?, pid_start_time = ? WHERE id = ?', 999_999_999, 1, p.id);
    await d.launch();
    const q = await d.get('lagging');
    assert.equal(q.pid, p.pid);
    assert.equal(q.status, 'running');
    assert.equal(q.restarts, 0);
    assert.deepEqual(liveInstances(p.id, d.logs), [p.pid]);
    assert.match(pmondLog(), new RegExp(`lagging: found its live child pid ${p.pid} by its markers; re-adopted`));
    await d.json(['del', 'lagging', '-f']);
  });

  test('a lost table: pmond starts empty, names the children it finds, and starts nothing twice', async () => {
    const a = await d.json(['exec', '/bin/sleep', '--name', 'orphan-a', '--', '300']);
    const b = await d.json(['exec', '/bin/sleep', '--name', 'orphan-b', '--', '300']);
    await d.crash();
    for (const f of fs.readdirSync(d.data)) if (f.startsWith('data.db')) fs.unlinkSync(path.join(d.data, f));
    await d.launch();
    assert.deepEqual(await d.ls(), []);
    const log = pmondLog();
    for (const p of [a, b]) {
      assert.match(log, new RegExp(`pid ${p.pid} \\(${p.name}, uid 0\\) was started by this pmond as process ${p.id}, which its table does not hold; left running`));
      assert.ok(pidAlive(p.pid), `${p.name} still runs`);
      process.kill(-p.pid, 'SIGKILL');
    }
  });

  test('an unreadable table: pmond refuses to start, naming the file and the children still running', async () => {
    const p = await d.json(['exec', '/bin/sleep', '--name', 'survivor', '--', '300']);
    await d.crash();
    const saved = fs.readFileSync(db());
    try {
      const garbage = Buffer.from(saved);
      garbage.fill(0x5a, 0, Math.min(garbage.length, 4096)); // the header and first page
      fs.writeFileSync(db(), garbage);
      await assert.rejects(d.launch(), (e: Error) => {
        assert.match(e.message, new RegExp(`${db().replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
        assert.match(e.message, new RegExp(`pid ${p.pid} \\(survivor, uid 0\\)`));
        return true;
      });
      assert.ok(pidAlive(p.pid), 'the child was left alone');
    } finally {
      fs.writeFileSync(db(), saved);
    }
    await d.launch();
    assert.equal((await d.get('survivor')).pid, p.pid, 're-adopted once the table is back');
    await d.json(['del', 'survivor', '-f']);
  });
});

describe('reboots', () => {
  test('a pid recorded in another boot is neither adopted nor signalled, even when a live process has it', async () => {
    const p = await d.json(['exec', '/bin/sleep', '--name', 'rebooted', '--', '300']);
    await d.crash();
    // The "reboot": the child is gone, and its pid (with a matching start time) now belongs to somebody else.
    process.kill(-p.pid, 'SIGKILL');
    await waitFor('the child to go', () => !pidAlive(p.pid));
    const other = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
    strays.push(other);
    const start = await waitFor('its start time', () => readStartTime(other.pid!));
    sqlite(db(), "UPDATE processes SET pid = ?, pid_start_time = ?, pid_boot_id = 'a-boot-long-ago' WHERE id = ?", other.pid, start, p.id);
    await d.launch();
    const q = await d.waitProc('rebooted', 'to run again', (x) => x.status === 'running' && x.pid !== other.pid);
    assert.notEqual(q.pid, other.pid, 'not adopted');
    assert.equal(q.restarts, 1, 'lost with the boot: counted as a restart');
    assert.ok(pidAlive(other.pid!), 'never signalled');
    await d.json(['del', 'rebooted', '-f']);
    assert.ok(pidAlive(other.pid!), 'not even when its row is deleted');
  });
});
