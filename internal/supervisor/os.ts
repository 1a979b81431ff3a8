/**
 * The OS calls the supervisor makes itself, behind one interface so that its lifecycle can be
 * driven in tests without processes. Everything else that touches the OS is an interface of its
 * own already (Spawner, Cgroups, UserResolver, HookRunner, Clock).
 */
import pidusage from 'pidusage';
import type { Native } from '../native';
import { GroupWatch } from '../process/group-watch';
import { isSameProcess, signalGroup } from '../process/procfs';

/** cpu (percent) and memory (bytes) of a process. */
export interface Usage {
  cpu: number;
  memory: number;
}

export interface Os {
  /** Send signal to the whole process group pgid; false if nothing was there. */
  signalGroup(pgid: number, signal: NodeJS.Signals): boolean;
  /** Whether pid is alive and is the process that started at startTime (a reused pid is not). */
  isSameProcess(pid: number, startTime: number): boolean;
  /** Usage of each pid; a pid that is gone has none (or, with pidusage, the call rejects). */
  usage(pids: number[]): Promise<Record<number, Usage>>;
  /** Resolves true once process group pgid has no live member, false once now() passes deadline. */
  waitGroupEmpty(pgid: number, deadline: number): Promise<boolean>;
  /** Wall-clock ms: the time base of every deadline of a stop. */
  now(): number;
  /**
   * Run fn after ms (the polling of a stop). unref: the timer alone does not keep pmond
   * running (the polls); without it, it does (the deadline a stop waits for).
   */
  after(ms: number, fn: () => void, unref?: boolean): { cancel(): void };
}

/**
 * How old a usage reading may be when it is given again: listings that come together (ls, the
 * HTTP API, the dashboard, the stats sampler, /metrics) share one reading per second instead of
 * each making its own, and a listing asked for while a reading is under way waits for it.
 */
export const USAGE_TTL_MS = 1000;

/** How long a pid's last reading is kept to measure its next cpu against. */
const HISTORY_MS = 60_000;

/** What the usage reader needs of the native addon. */
export type ProcReader = Pick<Native, 'procStats' | 'clockTicks' | 'pageSize'>;

/** A cpu share measured over less than this is not measured again (10 ms ticks would make it 0 % or hundreds). */
const MIN_WINDOW_S = 0.5;

/**
 * cpu and memory of pids from /proc/PID/stat, read in one native call (procStats): cpu as the
 * share of one core since the pid's last reading (pidusage's meaning: since its start on the
 * first), memory as RSS bytes. A pid that is gone, or whose start time changed (reused), starts
 * over. Reads run one after another, so each measures from the one before it; a pid read again
 * within MIN_WINDOW_S keeps its last share (and its baseline).
 */
export class ProcUsage {
  private readonly last = new Map<number, { ticks: number; start: number; at: number; cpu: number }>();
  private pruneAt = 0;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly r: ProcReader) {}

  /** Usage of each pid (a pid given twice is read once); a pid that is gone has none. */
  read(pids: number[]): Promise<Record<number, Usage>> {
    const done = this.chain.then(() => this.readNow(pids));
    this.chain = done.catch(() => undefined);
    return done;
  }

  private async readNow(pids: number[]): Promise<Record<number, Usage>> {
    const ids = Int32Array.from(new Set(pids));
    const out = new Float64Array(ids.length * 3);
    const at = await this.r.procStats(ids, out);
    const hz = this.r.clockTicks;
    const res: Record<number, Usage> = {};
    for (let i = 0; i < ids.length; i++) {
      const ticks = out[3 * i]!;
      if (Number.isNaN(ticks)) continue;
      const pid = ids[i]!;
      const start = out[3 * i + 1]!;
      const memory = out[3 * i + 2]! * this.r.pageSize;
      const prev = this.last.get(pid);
      const same = prev !== undefined && prev.start === start;
      if (same && (at - prev.at < MIN_WINDOW_S || ticks < prev.ticks)) {
        res[pid] = { cpu: prev.cpu, memory };
        continue;
      }
      const since = same ? prev : { ticks: 0, at: start / hz };
      const seconds = at - since.at;
      const cpu = seconds > 0 ? Math.max(0, (ticks - since.ticks) / hz / seconds) * 100 : 0;
      res[pid] = { cpu, memory };
      this.last.set(pid, { ticks, start, at, cpu });
    }
    if (at * 1000 > this.pruneAt) {
      this.pruneAt = at * 1000 + HISTORY_MS;
      for (const [pid, v] of this.last) if ((at - v.at) * 1000 > HISTORY_MS) this.last.delete(pid);
    }
    return res;
  }
}

/**
 * The real OS: /proc, kill(2), Node's timers, usage from /proc through the addon (reader; without
 * one, pidusage: a pool read, a callback and a parsed string per pid, ~50 ms of the event loop
 * for 1000). One GroupWatch and one usage cache per call (no module state).
 */
export function systemOs(reader?: ProcReader): Os {
  const groups = new GroupWatch();
  const proc = reader && new ProcUsage(reader);
  let cache: { at: number; map: Record<number, Usage> } = { at: 0, map: {} };
  let inflight: { pids: Set<number>; done: Promise<Record<number, Usage>> } | undefined;
  const pick = (map: Record<number, Usage>, pids: number[]): Record<number, Usage> => {
    const out: Record<number, Usage> = {};
    for (const p of pids) if (map[p]) out[p] = map[p]!;
    return out;
  };
  const usage = async (pids: number[]): Promise<Record<number, Usage>> => {
    if (Date.now() - cache.at < USAGE_TTL_MS && pids.every((p) => cache.map[p])) return pick(cache.map, pids);
    if (inflight && pids.every((p) => inflight!.pids.has(p))) return pick(await inflight.done, pids);
    const at = Date.now();
    const done = proc ? proc.read(pids) : (pidusage(pids) as unknown as Promise<Record<number, Usage>>);
    const mine = { pids: new Set(pids), done };
    inflight = mine;
    try {
      const map = await done;
      cache = { at, map: at - cache.at < USAGE_TTL_MS ? { ...cache.map, ...map } : map };
      return map;
    } finally {
      if (inflight === mine) inflight = undefined;
    }
  };
  return {
    signalGroup,
    isSameProcess,
    usage,
    waitGroupEmpty: (pgid, deadline) => groups.waitEmpty(pgid, deadline),
    now: () => Date.now(),
    after: (ms, fn, unref = false) => {
      const t = setTimeout(fn, ms);
      if (unref) t.unref();
      return { cancel: () => clearTimeout(t) };
    },
  };
}
