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

/** The real OS: /proc, kill(2), pidusage, Node's timers. One GroupWatch per call (no module state). */
export function systemOs(): Os {
  const groups = new GroupWatch();
  return {
    signalGroup,
    isSameProcess,
    usage: async (pids) => (await pidusage(pids)) as unknown as Record<number, Usage>,
    waitGroupEmpty: (pgid, deadline) => groups.waitEmpty(pgid, deadline),
    now: () => Date.now(),
    after: (ms, fn, unref = false) => {
      const t = setTimeout(fn, ms);
      if (unref) t.unref();
      return { cancel: () => clearTimeout(t) };
    },
  };
}
