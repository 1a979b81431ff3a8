/**
 * pmond killed on purpose: children survive, are re-adopted by pid + start
 * time, never duplicated or lost; stopped stays stopped; hooks fire with
 * exact JSON; a reused pid is not adopted.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../internal/client/client';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { integrity, liveInstances, readStartTime, sqlite, zombieChildren } from '../helpers/os';
import { pidAlive, waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

const BASE = 50;
const STOPPED = 10;
const KILLS = 5;

let d: TestDaemon;
let hookOut: string;
const strays: number[] = [];
const figures = { kills: 0, childrenChecked: 0, duplicates: 0, lostRows: 0, integrity: [] as string[] };

before(async () => {
  const dir = tempDir('pmr-');
  fs.chmodSync(dir, 0o755);
  hookOut = path.join(dir, 'hooks.jsonl');
  const hook = path.join(dir, 'hook.js');
  fs.writeFileSync(hook, `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(hookOut)}, process.argv[2] + '\\n');\n`, { mode: 0o755 });
  d = await TestDaemon.start({
    dir,
    config: { handle_interrupts: false, on_process_restart_exec: hook, process_monitor_interval: 50 },
  });
});
after(async () => {
  for (const p of strays) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await d?.stop();
  if (d) fs.rmSync(d.dir, { recursive: true, force: true });
  // eslint-disable-next-line no-console
  console.log(`# reliability figures: ${JSON.stringify({ ...figures, integrity: [...new Set(figures.integrity)] })}`);
});

async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = await Client.connect(d.socket);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** Wait until no row is mid-transition. */
async function settled(): Promise<any[]> {
  return waitFor('rows to settle', async () => {
    const rows = await withClient((c) => c.listAll());
    return rows.every((r) => !['init', 'restarting', 'queued'].includes(r.status)) ? rows : undefined;
  }, 20_000);
}

/** Every row against the OS: running rows have exactly their one process, others none. */
function checkAgainstOs(rows: any[]): void {
  const names = new Set<string>();
  for (const r of rows) {
    assert.ok(!names.has(r.name), `duplicate row ${r.name}`);
    names.add(r.name);
    const live = liveInstances(r.id, d.logs);
    figures.childrenChecked++;
    if (r.status === 'running') {
      if (live.length > 1) figures.duplicates++;
      assert.deepEqual(live, [r.pid], `${r.name}: exactly its recorded pid runs (found ${live.join(',')})`);
    } else if (r.status === 'stopped' || r.status === 'failed') {
      if (live.length > 0) figures.duplicates++;
      assert.deepEqual(live, [], `${r.name} (${r.status}) has no live process`);
    }
  }
}

describe('pmond killed with SIGKILL, again and again', () => {
  const base = new Map<string, { pid: number; start: number }>();

  test(`${BASE} children, ${STOPPED} of them stopped`, async () => {
    await withClient(async (c) => {
      for (let i = 0; i < BASE; i++) {
        const p = await c.call('exec', { file: '/bin/sleep', name: `base-${i}`, args: ['1000'], env: {}, cwd: '/', auto_restart: true });
        d.seenPids.add(p.pid!);
      }
      for (let i = BASE - STOPPED; i < BASE; i++) await c.call('stop', { target: `base-${i}`, force: false });
      for (let i = 0; i < 5; i++) await c.call('exec', { file: '/bin/sleep', name: `churn-${i}`, args: ['1000'], env: {}, cwd: '/', auto_restart: true });
    });
    for (const r of await settled()) {
      if (r.name.startsWith('base-') && r.status === 'running') base.set(r.name, { pid: r.pid, start: readStartTime(r.pid)! });
    }
    assert.equal(base.size, BASE - STOPPED);
  });

  for (let round = 1; round <= KILLS; round++) {
    test(`kill ${round}: commands in flight, then SIGKILL; everything re-adopted exactly once`, async () => {
      const c = await Client.connect(d.socket);
      const inflight: Promise<unknown>[] = [];
      for (let i = 0; i < 5; i++) inflight.push(c.call('restart', { target: `churn-${i}`, count: true }));
      inflight.push(c.call('exec', { file: '/bin/sleep', name: `late-${round}`, args: ['1000'], env: {}, cwd: '/', auto_restart: true }));
      inflight.push(c.call('stop', { target: `churn-${round % 5}`, force: false }));
      inflight.push(c.call('list', {}));
      inflight.forEach((p) => p.catch(() => undefined));
      // Kill at a random point while those are being served.
      const jitter = Math.floor(Math.random() * 40);
      await new Promise((r) => setTimeout(r, jitter));
      await d.crash();
      c.close();
      figures.kills++;
      const ok = integrity(path.join(d.data, 'data.db'));
      figures.integrity.push(ok);
      assert.equal(ok, 'ok', 'integrity_check after the kill');
      // Children survived the kill.
      for (const [name, b] of base) assert.equal(readStartTime(b.pid), b.start, `${name} survived`);
      await d.launch();
      const rows = await settled();
      for (const [name, b] of base) {
        const r = rows.find((x) => x.name === name);
        if (!r) figures.lostRows++;
        assert.ok(r, `row ${name} kept`);
        assert.equal(r.status, 'running');
        assert.equal(r.pid, b.pid, `${name} re-adopted with the same pid`);
      }
      for (let i = BASE - STOPPED; i < BASE; i++) {
        const r = rows.find((x) => x.name === `base-${i}`);
        assert.equal(r?.status, 'stopped', `base-${i} still stopped`);
      }
      rows.forEach((r) => r.pid && d.seenPids.add(r.pid));
      checkAgainstOs(rows);
      assert.deepEqual(zombieChildren(d.pid), [], 'no zombies under pmond');
    });
  }

  test('a re-adopted child killed afterwards is restarted, and the restart hook gets exact JSON', async () => {
    const marker = path.join(d.dir, 'hook-pwned');
    const weird = ['a"b', "it's", 'back\\slash', `$(touch ${marker})`, '`id`', 'new\nline'];
    const p = await withClient((c) =>
      c.call('exec', { file: path.join(FIXTURES, 'echo-args.js'), name: 'weird', args: weird, env: { X: '$(id)' }, cwd: '/', auto_restart: true }),
    );
    await d.crash();
    await d.launch();
    const adopted = await withClient((c) => c.call('describe', { target: 'weird' }));
    assert.equal(adopted.pid, p.pid, 're-adopted');
    process.kill(p.pid!, 'SIGKILL');
    const again = await waitFor('restart of the adopted child', async () => {
      const r = await withClient((c) => c.call('describe', { target: 'weird' }));
      return r.status === 'running' && r.pid !== p.pid && r.restarts === 1 ? r : undefined;
    });
    d.seenPids.add(again.pid!);
    const line = await waitFor('restart hook output', () =>
      fs.existsSync(hookOut) && fs.readFileSync(hookOut, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((j) => j.name === 'weird'),
    );
    assert.deepEqual(line.args, weird);
    assert.deepEqual(line.env_names, ['X']);
    assert.equal(line.pid, again.pid);
    assert.equal(line.restarts, 1);
    assert.equal(line.status, 'running');
    for (const k of ['id', 'name', 'pid', 'status', 'restarts', 'user', 'uid', 'gid', 'log', 'process_file', 'args', 'last_exit_code', 'last_signal', 'started_at', 'created_at', 'updated_at']) {
      assert.ok(k in line, `hook JSON has ${k}`);
    }
    assert.equal(fs.existsSync(marker), false, 'nothing in the JSON was executed');
  });

  test('a row whose pid now belongs to another program: that program is not adopted, the real child is, by its markers', async () => {
    const victim = await withClient((c) => c.call('describe', { target: 'base-0' }));
    await d.terminate(); // handle_interrupts: false → children keep running
    assert.ok(pidAlive(victim.pid!), 'children survive a graceful stop with handle_interrupts false');
    strays.push(victim.pid!); // it becomes untracked once we rewrite its row
    const unrelated = spawn('/bin/sleep', ['1000'], { detached: true, stdio: 'ignore' });
    strays.push(unrelated.pid!);
    const start = readStartTime(unrelated.pid!)!;
    sqlite(path.join(d.data, 'data.db'), 'UPDATE processes SET pid = ?, pid_start_time = ? WHERE name = ?', unrelated.pid, start + 12345, 'base-0');
    await d.launch();
    const r = await waitFor('base-0 running', async () => {
      const x = await withClient((c) => c.call('describe', { target: 'base-0' }));
      return x.status === 'running' ? x : undefined;
    });
    assert.ok(pidAlive(unrelated.pid!), 'the unrelated program was left alone');
    // Its row lied, but the child carries pmond's markers (PMON3_DAEMON_ID, PMON3_PROCESS_ID, its
    // uid and name): it is found and re-adopted, not started a second time.
    assert.equal(r.pid, victim.pid);
    assert.equal(r.restarts, victim.restarts, 'nothing was lost, so no restart');
    assert.deepEqual(liveInstances(r.id, d.logs), [victim.pid]);
  });

  test('graceful shutdown with handle_interrupts: true stops children and the next pmond brings them back', async () => {
    const before = await settled();
    const running = before.filter((r) => r.status === 'running');
    d.writeConfig({ handle_interrupts: true });
    await d.terminate(); // still false: children stay
    await d.launch(); // re-adopts them, now with handle_interrupts: true
    await settled();
    await d.terminate();
    for (const r of running) assert.equal(pidAlive(r.pid), false, `${r.name} stopped`);
    await d.launch();
    const after = await settled();
    for (const r of running) {
      const a = after.find((x) => x.name === r.name);
      assert.equal(a?.status, 'running', `${r.name} back`);
      assert.equal(a?.restarts, r.restarts, 'a shutdown is not a restart');
      d.seenPids.add(a!.pid!);
    }
    for (const r of before.filter((x) => x.status === 'stopped')) {
      assert.equal(after.find((x) => x.name === r.name)?.status, 'stopped', `${r.name} stays stopped`);
    }
    checkAgainstOs(after);
  });
});
