/**
 * The OS calls the supervisor makes itself, behind one interface so that its lifecycle can be
 * driven in tests without processes. Everything else that touches the OS is an interface of its
 * own already (Spawner, Cgroups, UserResolver, HookRunner, Clock).
 */
import pidusage from 'pidusage';
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
  /** Usage of each pid; rejects if one of them is gone. */
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
 * How old a usage reading may be when it is given again. pidusage reads /proc/PID/stat of every
 * pid through libuv's thread pool (~50 ms for 1000 processes): listings that come together (ls,
 * the HTTP API, the dashboard, the stats sampler, /metrics) share one reading per second instead
 * of each making its own, and a listing asked for while a reading is under way waits for it.
 */
export const USAGE_TTL_MS = 1000;

/** The real OS: /proc, kill(2), pidusage, Node's timers. One GroupWatch and one usage cache per call (no module state). */
export function systemOs(): Os {
  const groups = new GroupWatch();
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
    const done = pidusage(pids) as unknown as Promise<Record<number, Usage>>;
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
