/**
 * The usage reader (internal/supervisor/os.ts ProcUsage) over the addon's procStats: real
 * /proc/PID/stat of real processes, against what /proc and the kernel say; a busy child's cpu,
 * a gone pid, a reused pid, hostile input to the native call.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { after, describe, test } from 'node:test';
import { loadNative } from '../../internal/native';
import { ProcUsage, systemOs, type ProcReader } from '../../internal/supervisor/os';
import { ROOT } from '../helpers/daemon';
import { pidAlive, waitFor } from '../helpers/wait';

const native = loadNative(ROOT);
const started: ChildProcess[] = [];

function child(code: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  started.push(c);
  return c;
}

after(async () => {
  for (const c of started) if (c.pid && pidAlive(c.pid)) c.kill('SIGKILL');
});

/**
 * A reader whose every pid reads as st says when the read completes (ticks, start in ticks, RSS
 * pages) at st.boot seconds; during(pids) runs first, inside the read.
 */
function fakeReader(st: { ticks: number; start: number; boot: number; rss: number }, during?: (pids: number[]) => Promise<void>): ProcReader {
  return {
    clockTicks: 100,
    pageSize: 4096,
    procStats: async (p, out) => {
      await during?.([...p]);
      for (let i = 0; i < p.length; i++) {
        out[3 * i] = st.ticks;
        out[3 * i + 1] = st.start;
        out[3 * i + 2] = st.rss;
      }
      return st.boot;
    },
  };
}

/** VmRSS of pid in bytes, from /proc/PID/status. */
function vmRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

describe('procStats (native)', () => {
  test('reads utime+stime, start time and RSS; NaN for a pid that is gone or not a pid', async () => {
    const out = new Float64Array(3 * 4);
    const boot = await native.procStats(Int32Array.from([process.pid, 1, 0x7ffffff0, -5]), out);
    const uptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    assert.ok(Math.abs(boot - uptime) < 2, `boot seconds ${boot} ~ /proc/uptime ${uptime}`);
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(out[1], Number(f[19]), 'start time in ticks (field 22)');
    assert.ok(out[0]! >= Number(f[11]) + Number(f[12]) - 50 && out[0]! <= Number(f[11]) + Number(f[12]), 'utime+stime (fields 14, 15)');
    assert.ok(Math.abs(out[2]! * native.pageSize - vmRss(process.pid)) < 64 * 1024 * 1024, 'RSS pages (field 24) ~ VmRSS');
    for (const i of [2, 3]) for (let k = 0; k < 3; k++) assert.ok(Number.isNaN(out[3 * i + k]!), `pid #${i} gone: NaN`);
    assert.equal(native.clockTicks, 100);
  });

  test('refuses the wrong arrays in one line, and a short out', () => {
    assert.throws(() => native.procStats([1] as unknown as Int32Array, new Float64Array(3)), /procStats\(pids, out\)/);
    assert.throws(() => native.procStats(Int32Array.from([1, 2]), new Float64Array(5)), /3 per pid/);
    assert.throws(() => native.procStats(Int32Array.from([1]), new Float32Array(3) as unknown as Float64Array), /Float64Array/);
  });

  test('out detached while the reads run: the call rejects in one line, nothing is written to freed memory', async () => {
    const out = new Float64Array(3 * 200);
    const p = native.procStats(Int32Array.from({ length: 200 }, () => process.pid), out);
    structuredClone(out.buffer, { transfer: [out.buffer] }); // detaches out
    await assert.rejects(p, /out lost its room meanwhile/);
    const again = new Float64Array(3);
    await native.procStats(Int32Array.from([process.pid]), again); // the addon is still fine
    assert.ok(again[2]! > 0);
  });

  test('a command name with spaces and parentheses does not shift the fields', async () => {
    // /proc/PID/stat's field 2 is "(comm)"; comm may hold ") (" and spaces.
    const c = child("process.title = 'a) (b c'; setInterval(() => {}, 1000)");
    await waitFor('the title to be set', () => fs.readFileSync(`/proc/${c.pid}/stat`, 'utf8').includes('a) (b c'), 5000);
    const out = new Float64Array(3);
    await native.procStats(Int32Array.from([c.pid!]), out);
    const stat = fs.readFileSync(`/proc/${c.pid}/stat`, 'utf8');
    assert.equal(out[1], Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]));
    assert.ok(out[2]! > 0);
  });
});

describe('ProcUsage', () => {
  test("a busy child's cpu is what the kernel counted over the window, an idle one's near 0; memory is its RSS", async () => {
    const busy = child('for (;;) {}');
    const idle = child('setInterval(() => {}, 1000)');
    const u = new ProcUsage(native);
    await waitFor('both to run', () => pidAlive(busy.pid!) && pidAlive(idle.pid!), 5000);
    // The kernel's own count over (about) the same window, read beside ProcUsage's: the check
    // holds however loaded the machine is (the busy child gets what the scheduler gives it).
    const ticks = (pid: number): number => {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      return Number(f[11]) + Number(f[12]);
    };
    const up = (): number => Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const k0 = ticks(busy.pid!);
    const u0 = up();
    await u.read([busy.pid!, idle.pid!]);
    const t0 = Date.now();
    await waitFor('a second to pass', () => Date.now() - t0 >= 1000, 5000, 20);
    const r = await u.read([busy.pid!, idle.pid!]);
    const kernel = ((ticks(busy.pid!) - k0) / native.clockTicks / (up() - u0)) * 100;
    assert.ok(Math.abs(r[busy.pid!]!.cpu - kernel) < 25, `busy: ${r[busy.pid!]!.cpu} %, the kernel's count ${kernel} %`);
    assert.ok(r[busy.pid!]!.cpu > r[idle.pid!]!.cpu, 'busy above idle');
    assert.ok(r[idle.pid!]!.cpu < 20, `idle: ${r[idle.pid!]!.cpu} %`);
    assert.ok(Math.abs(r[idle.pid!]!.memory - vmRss(idle.pid!)) < 8 * 1024 * 1024);
  });

  test('a gone pid has no reading, the others do; systemOs with the reader gives the same', async () => {
    const c = child('setInterval(() => {}, 1000)');
    const pid = c.pid!;
    c.kill('SIGKILL');
    await new Promise((r) => c.once('exit', r));
    const r = await new ProcUsage(native).read([process.pid, pid]);
    assert.ok(r[process.pid]);
    assert.equal(r[pid], undefined);
    const os = systemOs(native);
    const s = await os.usage([process.pid, pid]);
    assert.ok(s[process.pid] && s[process.pid]!.memory > 0);
    assert.equal(s[pid], undefined);
  });

  test('reads that overlap are made one after another; a pid given twice is read once; a reading within 0.5 s keeps the last share', async () => {
    const st = { ticks: 1000, start: 0, boot: 100, rss: 1 };
    const seen: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const u = new ProcUsage(
      fakeReader(st, async (pids) => {
        inFlight++;
        most = Math.max(most, inFlight);
        seen.push(pids);
        await new Promise((r) => setImmediate(r));
        inFlight--;
      }),
    );
    await u.read([7]);
    st.boot = 102;
    st.ticks = 1100; // 1 s of cpu in 2 s: 50 %
    const [a, b] = await Promise.all([u.read([7, 7, 8]), u.read([7])]);
    assert.equal(most, 1, 'one read at a time');
    assert.deepEqual(seen[1], [7, 8], 'a pid given twice is read once');
    assert.equal(Math.round(a[7]!.cpu), 50);
    assert.equal(Math.round(b[7]!.cpu), 50, 'read again at once: the last share, not 0 %');
    st.boot = 102.1;
    st.ticks = 1000; // fewer ticks than before (cannot be, for one process): never a negative share
    const c = await u.read([7]);
    assert.ok(c[7]!.cpu >= 0);
  });

  test('a reused pid (another start time) starts over instead of showing the old one\'s delta', async () => {
    const pid = process.pid;
    const st = { ticks: 500, start: 1000, boot: 100, rss: 10 };
    const u = new ProcUsage(fakeReader(st));
    // First reading: since its start (10 s since boot, 90 s ago, 5 s of cpu): 5/90.
    assert.equal(Math.round((await u.read([pid]))[pid]!.cpu * 100) / 100, Math.round((5 / 90) * 100 * 100) / 100);
    st.boot = 101;
    st.ticks = 550; // 0.5 s of cpu in 1 s
    assert.equal(Math.round((await u.read([pid]))[pid]!.cpu), 50);
    // The pid is reused: a new start, fewer ticks than before. Not a negative share.
    st.start = 10_000; // 100 s since boot
    st.ticks = 20;
    st.boot = 102;
    const again = (await u.read([pid]))[pid]!;
    assert.ok(again.cpu >= 0 && again.cpu <= 100, `reused: ${again.cpu}`);
    assert.equal(again.memory, 40960);
  });
});
