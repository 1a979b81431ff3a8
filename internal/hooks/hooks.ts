/**
 * Event hooks: the configured executable runs with the process JSON as its
 * only argument ($1) or, with `payload: 'stdin'`, on its stdin, through spawn
 * (argv, never a shell), with only PATH in its environment, in a session and
 * process group of its own. An argument is readable by every local user in
 * /proc/PID/cmdline while the hook runs; stdin is not.
 *
 * - At most `concurrency` run at once with a bounded queue behind them, so a
 *   restart storm cannot fork without bound. A slot is taken when a hook is
 *   dequeued and given back exactly once: when its main process exits, or on
 *   whatever failure kept it from running (StrictModes refusal, a spawn that
 *   throws or emits 'error').
 * - The queue is shared fairly. Hooks about a process of a privileged owner
 *   (root, pmond's own user, admin_group: `privileged`) always have room and
 *   run first; any other uid may hold at most a share of the queue (a tenth),
 *   and all of them together leave that share free for the privileged. The
 *   others are taken in turn, one uid after the other, so one user's flood of
 *   restarts delays nobody else's hooks by more than one hook each.
 * - A dropped hook costs one log line at most: the first drop of a minute is
 *   logged, later ones are counted per uid and summed up once a minute
 *   ("N hooks of uid U dropped").
 * - close() (pmond's shutdown) drops what is queued, with one line saying how
 *   many; hooks already running keep their hook_timeout, no more.
 * - `timeoutMs` after the hook started, its whole process group is killed
 *   with SIGKILL: the main process if it still runs, and whatever it left in
 *   its group (a backgrounded `sleep`) even when the main process has exited.
 *   A process that leaves the group (setsid) is out of reach, as with any
 *   process group.
 * - The JSON is cut to fit one argv string (see MAX_HOOK_ARG_BYTES), never
 *   dropped.
 * - A hook that fails in any way is logged, one warn line naming the cause,
 *   the hook and the process; nothing else changes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Logger } from '../logger/logger';

export const HOOK_EVENTS = ['restart', 'failure', 'backoff', 'start', 'stop'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Runs hooks. */
export interface HookRunner {
  /** Queue the hook for event (no-op if none is configured). Never throws. The payload's uid, gid and user name its owner. */
  fire(event: HookEvent, payload: Record<string, unknown>): void;
  /** Resolves when nothing is running or queued (tests, shutdown). */
  idle(): Promise<void>;
  /** Shutdown: drop the queued hooks (logged once, with their number), start no more; running ones keep their timeout. */
  close(): void;
}

/** Who a hook is about: the owner of its process, from the payload. */
export interface HookOwner {
  uid: number;
  gid: number;
  user: string;
}

export interface HookOptions {
  /** Executable per event; empty or missing = no hook. */
  paths: Partial<Record<HookEvent, string>>;
  timeoutMs: number;
  concurrency: number;
  /** Most hooks waiting; beyond that (or beyond a uid's share of it) new ones are dropped (and counted). */
  maxQueued: number;
  /** Whether hooks of this owner always have room and go first (root, admins); default: uid 0. */
  privileged?: (owner: HookOwner) => boolean;
  /** How often drops are summed up in the log (ms); a minute unless a test says otherwise. */
  dropSummaryMs?: number;
  /**
   * Where the JSON goes: 'argv' ($1, the documented default; every local user can read it in
   * /proc/PID/cmdline while the hook runs) or 'stdin' (written to the hook's stdin, no argument).
   */
  payload?: 'argv' | 'stdin';
  /** Checked before every run (StrictModes for a root pmond); throws to refuse. */
  check?: (file: string) => void;
}

/** $1 is at most 64 KiB of UTF-8: well under Linux's MAX_ARG_STRLEN (131072 bytes per argument, else E2BIG). */
export const MAX_HOOK_ARG_BYTES = 64 * 1024;
/** Most stderr bytes of a hook kept for its log line. */
const STDERR_BYTES = 500;
/** How long the log line waits for the rest of stderr after the hook's exit. */
const STDERR_GRACE_MS = 100;
/** How often a group left behind by an exited hook is checked for having emptied on its own. */
const LINGER_POLL_MS = 100;
/** How often a killed group is checked (and killed again) until it is empty, and for how long at most. */
const KILL_POLL_MS = 20;
const KILL_GIVE_UP_MS = 10_000;
/** How often dropped hooks are summed up in the log. */
const DROP_SUMMARY_MS = 60_000;
/** The part of the queue one unprivileged uid may fill (and that stays free for the privileged). */
const SHARE_DIVISOR = 10;

/** An array whose elements would have to be cut below this many bytes each loses its tail elements instead. */
const ELEMENT_FLOOR_BYTES = 256;

const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v) ?? 'null');

/**
 * The hook's $1: JSON.stringify(payload), or, if that is longer than
 * maxBytes, the payload with its longest fields shortened first (strings cut
 * and ended with "…", arrays' elements cut or, when many, their tail
 * dropped) and `"truncated": true` added, still one valid JSON object of at
 * most maxBytes.
 */
export function hookArgument(payload: Record<string, unknown>, maxBytes = MAX_HOOK_ARG_BYTES): string {
  const json = JSON.stringify(payload) ?? '{}';
  if (Buffer.byteLength(json) <= maxBytes) return json;
  const data = JSON.parse(json) as Record<string, unknown>;
  delete data.truncated;
  const flag = jsonBytes({ truncated: true }) - 1; // ,"truncated":true
  const cut = { ...(fit(data, maxBytes - flag) as Record<string, unknown>), truncated: true };
  const out = JSON.stringify(cut);
  if (Buffer.byteLength(out) <= maxBytes) return out;
  // Only a payload of huge keys or numbers gets here; say who it was about.
  return JSON.stringify({ ...(fit({ id: data.id, name: data.name }, maxBytes - flag) as object), truncated: true });
}

/** value, shortened so that its JSON has at most budget bytes where it can be (strings, arrays, objects). */
function fit(value: unknown, budget: number): unknown {
  if (jsonBytes(value) <= budget) return value;
  if (typeof value === 'string') return fitString(value, budget);
  if (Array.isArray(value)) return fitArray(value, budget);
  if (value !== null && typeof value === 'object') return fitObject(value as Record<string, unknown>, budget);
  return value; // a number, boolean or null cannot shrink
}

function fitString(s: string, budget: number): string {
  const with_ = (n: number): string => {
    let end = n;
    const c = s.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--; // never split a surrogate pair
    return `${s.slice(0, end)}…`;
  };
  if (jsonBytes('…') > budget) return '';
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(with_(mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return with_(lo);
}

/**
 * Largest cap C such that the sizes, each capped at C, sum to at most
 * available (water filling: the longest are shortened first, to one level).
 */
function waterLevel(sizes: number[], available: number): number {
  const sorted = [...sizes].sort((a, b) => a - b);
  let rest = available;
  for (let i = 0; i < sorted.length; i++) {
    const left = sorted.length - i;
    const s = sorted[i]!;
    if (s * left > rest) return Math.floor(rest / left);
    rest -= s;
  }
  return Number.MAX_SAFE_INTEGER;
}

const shrinkable = (v: unknown): boolean => v !== null && (typeof v === 'string' || typeof v === 'object');

function fitArray(arr: unknown[], budget: number): unknown[] {
  // "[" "]" and the commas.
  const overhead = 2 + Math.max(0, arr.length - 1);
  const sizes = arr.map(jsonBytes);
  const fixed = arr.reduce<number>((n, v, i) => (shrinkable(v) ? n : n + sizes[i]!), 0);
  const available = budget - overhead - fixed;
  const level = available < 0 ? 0 : waterLevel(sizes.filter((_, i) => shrinkable(arr[i])), available);
  if (level >= ELEMENT_FLOOR_BYTES) return arr.map((v, i) => (shrinkable(v) && sizes[i]! > level ? fit(v, level) : v));
  // Too many elements to keep them all (readable): keep the head, each cut to the floor, and drop the tail.
  const out: unknown[] = [];
  let used = 2;
  for (const [i, v] of arr.entries()) {
    const room = budget - used - (out.length ? 1 : 0);
    // Whole if it fits; cut to the floor if there is room for that (or it would be the only one); else stop.
    if (sizes[i]! > room && room < ELEMENT_FLOOR_BYTES && out.length) break;
    const w = fit(v, Math.min(ELEMENT_FLOOR_BYTES, room));
    const n = jsonBytes(w) + (out.length ? 1 : 0);
    if (used + n > budget) break;
    out.push(w);
    used += n;
  }
  return out;
}

function fitObject(obj: Record<string, unknown>, budget: number): Record<string, unknown> {
  const keys = Object.keys(obj);
  // Keys as long as the budget are dropped from the end: the fields stay, their values shrink.
  while (keys.length) {
    const overhead = 2 + keys.reduce((n, k) => n + jsonBytes(k) + 1, 0) + (keys.length - 1);
    const fixed = keys.reduce((n, k) => n + (shrinkable(obj[k]) ? Math.min(2, jsonBytes(obj[k])) : jsonBytes(obj[k])), 0);
    if (overhead + fixed <= budget) break;
    keys.pop();
  }
  const overhead = 2 + keys.reduce((n, k) => n + jsonBytes(k) + 1, 0) + Math.max(0, keys.length - 1);
  const sizes = keys.map((k) => jsonBytes(obj[k]));
  const fixed = keys.reduce((n, k, i) => (shrinkable(obj[k]) ? n : n + sizes[i]!), 0);
  const level = waterLevel(
    sizes.filter((_, i) => shrinkable(obj[keys[i]!])),
    budget - overhead - fixed,
  );
  const out: Record<string, unknown> = {};
  keys.forEach((k, i) => {
    const v = obj[k];
    out[k] = shrinkable(v) && sizes[i]! > level ? fit(v, Math.max(2, level)) : v;
  });
  return out;
}

/** Pids whose process group is pgid and that are not zombies (from /proc). */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X') out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Whether anything alive is left in group pgid: kill(-pgid, 0) answers ESRCH
 * for an empty group; otherwise /proc tells a live member from a zombie that
 * no reaper has collected yet.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  return groupMembers(pgid).length > 0;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* ESRCH: already empty; EPERM: a member changed uid, nothing more we can do */
  }
}

const errCode = (e: unknown): string => {
  const x = e as NodeJS.ErrnoException | undefined;
  return String(x?.code ?? x?.message ?? e);
};

interface Job {
  event: HookEvent;
  file: string;
  json: string;
  name: unknown;
  /** The owner's uid (-1 when the payload names none). */
  uid: number;
}

export class ExecHookRunner implements HookRunner {
  /** Slots taken. */
  private running = 0;
  /** Hooks started whose log line or process group is not settled yet (may outlive their slot). */
  private unsettled = 0;
  /** Queued hooks of privileged owners: always room, always first. */
  private privileged: Job[] = [];
  /** Queued hooks of every other owner, per uid; Map order is the turn order. */
  private perUid = new Map<number, Job[]>();
  /** Queued hooks of other owners, in all. */
  private othersQueued = 0;
  private idleWaiters: Array<() => void> = [];
  private pumping = false;
  private closed = false;
  /** Drops per uid not logged yet, and the timer that sums them up. */
  private drops = new Map<number, number>();
  private dropTimer?: NodeJS.Timeout;

  constructor(
    private readonly opts: HookOptions,
    private readonly log: Logger,
  ) {}

  /** Hooks waiting and running now (metrics). */
  load(): { queued: number; running: number } {
    return { queued: this.privileged.length + this.othersQueued, running: this.running };
  }

  /** How many hooks one unprivileged uid may have queued. */
  private get share(): number {
    return Math.max(1, Math.floor(this.opts.maxQueued / SHARE_DIVISOR));
  }

  fire(event: HookEvent, payload: Record<string, unknown>): void {
    const file = this.opts.paths[event];
    if (!file || this.closed) return;
    const name = payload.name;
    let json: string;
    try {
      json = hookArgument(payload);
    } catch (e) {
      this.warn(event, file, name, `payload not serializable: ${(e as Error).message}`);
      return;
    }
    const owner: HookOwner = {
      uid: typeof payload.uid === 'number' ? payload.uid : -1,
      gid: typeof payload.gid === 'number' ? payload.gid : -1,
      user: typeof payload.user === 'string' ? payload.user : '',
    };
    const job: Job = { event, file, json, name, uid: owner.uid };
    const max = this.opts.maxQueued;
    const queued = this.privileged.length + this.othersQueued;
    const slotFree = this.running < this.opts.concurrency && queued === 0;
    if ((this.opts.privileged ?? ((o: HookOwner) => o.uid === 0))(owner)) {
      if (!slotFree && queued >= max) return this.drop(job, `queue full (${max})`);
      this.privileged.push(job);
    } else {
      const mine = this.perUid.get(owner.uid);
      // A tenth of the queue stays free for privileged owners (none when the queue is tiny).
      const forOthers = max - Math.floor(max / SHARE_DIVISOR);
      if (!slotFree && (mine?.length ?? 0) >= this.share) return this.drop(job, `uid ${owner.uid} has ${mine!.length} hooks queued, its share of the queue`);
      if (!slotFree && this.othersQueued >= forOthers) return this.drop(job, `queue full (${this.othersQueued} of ${max} for unprivileged owners)`);
      if (mine) mine.push(job);
      else this.perUid.set(owner.uid, [job]);
      this.othersQueued++;
    }
    this.pump();
  }

  /** Resolves when no hook is queued or running and no hook's process group is left alive. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const n = this.privileged.length + this.othersQueued;
    this.privileged = [];
    this.perUid.clear();
    this.othersQueued = 0;
    this.summarizeDrops();
    clearTimeout(this.dropTimer);
    if (n) this.log.warn(`shutting down: ${n} queued hooks dropped (running ones get hook_timeout at most)`);
    this.wakeIdle();
  }

  /** Not run: the first drop in a minute is logged at once, the rest are counted per uid and summed up. */
  private drop(job: Job, why: string): void {
    if (!this.dropTimer) {
      const every = this.opts.dropSummaryMs ?? DROP_SUMMARY_MS;
      this.warn(job.event, job.file, job.name, `${why}; dropped (further drops are summed up once a minute)`);
      const tick = (): void => {
        this.dropTimer = this.summarizeDrops() ? setTimeout(tick, every) : undefined;
        this.dropTimer?.unref();
      };
      this.dropTimer = setTimeout(tick, every);
      this.dropTimer.unref();
      return;
    }
    this.drops.set(job.uid, (this.drops.get(job.uid) ?? 0) + 1);
  }

  /** One line per uid with drops not logged yet; whether there were any. */
  private summarizeDrops(): boolean {
    const any = this.drops.size > 0;
    for (const [uid, n] of this.drops) this.log.warn(`${n} hooks of uid ${uid} dropped (the hook queue, or that uid's share of it, was full)`);
    this.drops.clear();
    return any;
  }

  /** The next hook to run: a privileged one, else the head of the next uid's queue in turn. */
  private dequeue(): Job | undefined {
    const p = this.privileged.shift();
    if (p) return p;
    for (const [uid, jobs] of this.perUid) {
      const job = jobs.shift()!;
      this.perUid.delete(uid);
      if (jobs.length) this.perUid.set(uid, jobs); // to the back of the turn order
      this.othersQueued--;
      return job;
    }
    return undefined;
  }

  private isIdle(): boolean {
    return this.running === 0 && this.privileged.length === 0 && this.othersQueued === 0 && this.unsettled === 0;
  }

  private wakeIdle(): void {
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private warn(event: HookEvent, file: string, name: unknown, cause: string, meta: Record<string, unknown> = {}): void {
    this.log.warn(`hook ${event} failed: ${cause}`, { hook: file, process: name, ...meta });
  }

  /** Start queued hooks while slots are free; a loop, so hooks failing at once cannot recurse. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.running < this.opts.concurrency) {
        const job = this.dequeue();
        if (!job) break;
        this.running++;
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          this.running--;
          this.pump();
        };
        try {
          this.start(job, release);
        } catch (e) {
          // start() handles its own failures; this is a last guard so a slot is never lost.
          this.warn(job.event, job.file, job.name, `internal error: ${errCode(e)}`);
          release();
        }
      }
    } finally {
      this.pumping = false;
    }
    this.wakeIdle();
  }

  private start(job: Job, release: () => void): void {
    const { event, file, json, name } = job;
    const T = this.opts.timeoutMs;
    try {
      this.opts.check?.(file);
    } catch (e) {
      this.warn(event, file, name, `refused by StrictModes: ${(e as Error).message}`);
      release();
      return;
    }
    const started = Date.now();
    let child: ChildProcess;
    const viaStdin = this.opts.payload === 'stdin';
    try {
      child = spawn(file, viaStdin ? [] : [json], {
        detached: true, // setsid(): a session and process group of its own, killed as one
        shell: false,
        stdio: [viaStdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      });
      if (viaStdin) {
        // Written asynchronously: a hook that never reads its stdin costs pmond nothing (EPIPE ignored).
        child.stdin?.on('error', () => undefined);
        child.stdin?.end(json);
      }
    } catch (e) {
      this.warn(event, file, name, `${errCode(e)} (spawn threw)`);
      release();
      return;
    }

    this.unsettled++;
    let stderr = '';
    let stderrDone = false;
    let exited = false;
    let exitLogged = false;
    let groupGone = false;
    let timedOut = false;
    let settled = false;
    let othersAtTimeout = 0;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let graceTimer: NodeJS.Timeout | undefined;
    let pollTimer: NodeJS.Timeout | undefined;
    const pgid = child.pid;

    const settle = (): void => {
      if (settled || !(exitLogged && groupGone)) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      clearTimeout(pollTimer);
      child.stderr?.destroy();
      this.unsettled--;
      this.wakeIdle();
    };
    const stderrMeta = (): Record<string, unknown> => (stderr.trim() ? { stderr: stderr.trim() } : {});

    const logExit = (): void => {
      if (exitLogged || !exited) return;
      exitLogged = true;
      clearTimeout(graceTimer);
      const ms = Date.now() - started;
      if (timedOut && exitSignal === 'SIGKILL') {
        const others = othersAtTimeout ? ` with its group (${othersAtTimeout} more)` : '';
        this.warn(event, file, name, `killed after ${T} ms${others}`, stderrMeta());
      } else if (exitSignal) {
        this.warn(event, file, name, `signal ${exitSignal}`, stderrMeta());
      } else if (exitCode !== 0) {
        this.warn(event, file, name, `exit ${String(exitCode)}`, stderrMeta());
      } else {
        this.log.debug(`hook ${event} ran`, { hook: file, process: name, ms });
      }
      if (timedOut && exitSignal !== 'SIGKILL' && othersAtTimeout) {
        // It exited on its own just as the deadline fired: what it left behind was killed.
        this.warn(event, file, name, `group killed after ${T} ms with ${othersAtTimeout} members left`, { pgid });
      }
      settle();
    };

    /** Kill the group until nothing in it is alive (or give up), then settle. */
    const killUntilEmpty = (pg: number): void => {
      const until = Date.now() + KILL_GIVE_UP_MS;
      const tick = (): void => {
        if (!groupAlive(pg)) {
          groupGone = true;
          settle();
          return;
        }
        if (Date.now() > until) {
          this.log.error(`hook ${event}: process group ${pg} still alive ${KILL_GIVE_UP_MS} ms after SIGKILL; giving up`, { hook: file, process: name });
          groupGone = true;
          settle();
          return;
        }
        killGroup(pg);
        pollTimer = setTimeout(tick, KILL_POLL_MS);
      };
      tick();
    };

    // At hook_timeout from the start: SIGKILL the whole group, whether or not the main process still runs.
    const deadline = setTimeout(() => {
      if (pgid === undefined || groupGone) return;
      timedOut = true;
      clearTimeout(pollTimer);
      const members = groupMembers(pgid).filter((p) => p !== pgid);
      killGroup(pgid);
      if (exited) {
        this.warn(event, file, name, `group killed after ${T} ms with ${members.length} members left`, { pgid });
      } else {
        othersAtTimeout = members.length;
      }
      killUntilEmpty(pgid);
    }, T);

    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_BYTES) stderr += chunk.toString('utf8', 0, Math.min(chunk.length, STDERR_BYTES - stderr.length));
    });
    child.stderr?.on('error', () => {
      /* the hook's business */
    });
    child.stderr?.on('end', () => {
      stderrDone = true;
      logExit();
    });

    child.on('error', (e) => {
      if (pgid === undefined) {
        // It never ran (ENOENT, EACCES, ...): no exit will follow.
        if (exitLogged) return;
        exitLogged = exited = groupGone = true;
        this.warn(event, file, name, `${errCode(e)} (spawn)`);
        release();
        settle();
        return;
      }
      this.warn(event, file, name, `${errCode(e)}`);
    });

    child.on('exit', (code, signal) => {
      if (exited) return;
      exited = true;
      exitCode = code;
      exitSignal = signal;
      release(); // the slot is free as soon as the main process is gone, whatever it left behind
      if (pgid === undefined) groupGone = true;
      else if (!timedOut) {
        if (!groupAlive(pgid)) groupGone = true;
        else {
          // Left members behind: watch for the group to empty on its own; the deadline kills it otherwise.
          // Once it is empty its number may be reused by an unrelated group, so the deadline must not fire then
          // (the kernel keeps the number while any member lives; only a pid wrap-around within one poll could race).
          const watch = (): void => {
            if (timedOut) return;
            if (!groupAlive(pgid)) {
              groupGone = true;
              clearTimeout(deadline);
              settle();
              return;
            }
            pollTimer = setTimeout(watch, LINGER_POLL_MS);
          };
          pollTimer = setTimeout(watch, LINGER_POLL_MS);
        }
      }
      if (stderrDone) logExit();
      else graceTimer = setTimeout(logExit, STDERR_GRACE_MS);
    });
  }
}
