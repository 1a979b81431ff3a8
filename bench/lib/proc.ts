/**
 * What the harness reads from /proc and how it runs and times whole
 * processes. Every timing is wall-clock (process.hrtime) around a whole
 * process or a whole condition; every CPU figure is utime+stime of
 * /proc/PID/stat (own threads, not reaped children), every RSS is VmRSS.
 */
import { execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';

/** Clock ticks per second for /proc/PID/stat (getconf CLK_TCK, 100 on Linux x86). */
export const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Milliseconds since an arbitrary point (CLOCK_MONOTONIC, shared by every process on the machine). */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Block this thread for ms (for the 1 ms /proc polls, where a timer's jitter would dominate). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Fields after the command name of /proc/PID/stat (index 0 = field 3, state), or null. */
function statFields(pid: number): string[] | null {
  let s: string;
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) the process has used itself, or null if gone. */
export function cpuSeconds(pid: number): number | null {
  const f = statFields(pid);
  if (!f) return null;
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15
}

/** Start time (field 22) in clock ticks since boot: a pid plus this names one process. */
export function startTime(pid: number): number | null {
  const f = statFields(pid);
  return f ? Number(f[19]) : null;
}

/** Resident set size in bytes (VmRSS), or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Whether pid is alive and not a zombie. */
export function alive(pid: number): boolean {
  const f = statFields(pid);
  return !!f && f[0] !== 'Z' && f[0] !== 'X';
}

/** Direct children of pid (those forked by its main thread, where Node and Python spawn). */
export function children(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** argv of pid from /proc/PID/cmdline ([] if gone or a kernel thread). */
export function cmdline(pid: number): string[] {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const parts = raw.split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    return parts;
  } catch {
    return [];
  }
}

/** A process known by pid and start time, so a reused pid is never signalled. */
export interface ProcRef {
  pid: number;
  start: number;
}

export function ref(pid: number): ProcRef | null {
  const start = startTime(pid);
  return start === null ? null : { pid, start };
}

/** SIGKILL a process (and, if it leads one, its process group) if it is still the same process. */
export function killRef(r: ProcRef, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (startTime(r.pid) !== r.start) return;
  for (const target of [-r.pid, r.pid]) {
    try {
      process.kill(target, signal);
    } catch {
      /* gone, or not a group leader */
    }
  }
}

/** The pid the flood workloads' fixture wrote to file once ready, or 0 (not yet). */
export function readyPid(file: string): number {
  try {
    return Number(fs.readFileSync(file, 'utf8')) || 0;
  } catch {
    return 0;
  }
}

/** SIGKILL the program whose pid it wrote to file once ready, if it did. */
export function killReadyFile(file: string): void {
  const p = readyPid(file);
  const r = p > 0 ? ref(p) : null;
  if (r) killRef(r);
}

/** Poll cond until truthy or the deadline passes; then throw naming what. */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, ms: number, every = 20): Promise<NonNullable<T>> {
  const deadline = nowMs() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (nowMs() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** How a run of a whole process went. */
export interface RunResult {
  /** Wall-clock milliseconds from spawn to exit (stdout and stderr drained). */
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A command line: file, argv and extra environment. Never a shell string. */
export interface Cmd {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** Run cmd to completion with stdout/stderr piped back (as a script calling it would), timed. */
export function run(cmd: Cmd, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const opts: SpawnOptions = { env: { ...process.env, ...cmd.env }, stdio: ['ignore', 'pipe', 'pipe'] };
    const t0 = nowMs();
    const child = spawn(cmd.file, cmd.args, opts);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      const ms = nowMs() - t0;
      clearTimeout(timer);
      resolve({ ms, code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Run and insist on exit status 0. */
export async function runOk(cmd: Cmd, timeoutMs?: number): Promise<RunResult> {
  const r = await run(cmd, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`${[cmd.file, ...cmd.args].join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  }
  return r;
}

/** Open-file limit of this process (soft), from /proc/self/limits. */
function fileLimit(): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return !m ? 0 : m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/**
 * Make sure the daemons the harness starts (they inherit its limits) may open
 * `need` files: 1000 PM2 apps hold ~5 descriptors each in the God daemon.
 */
export function ensureFileLimit(need: number): string {
  if (fileLimit() < need) {
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${need}:${need}`], { stdio: 'ignore' });
    } catch {
      /* not permitted (no CAP_SYS_RESOURCE): report what there is */
    }
  }
  const now = fileLimit();
  return now >= need ? `${now} (enough)` : `${now}: too low for ${need}; raise it (ulimit -n) or expect failures with 1000 processes`;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}
