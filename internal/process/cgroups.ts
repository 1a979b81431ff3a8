/**
 * cgroup v2, where it can be used: each run of a managed process gets a
 * fresh cgroup of its own (`<base>/p<id>-<run>`), which the exec helper
 * creates the program in (clone3 CLONE_INTO_CGROUP) before it drops
 * privileges, so that stopping it and cleaning up after its exit reach every
 * descendant — even one that called setsid() to leave the process group —
 * through `cgroup.kill`. Where cgroup v2 is absent or not writable (an
 * unprivileged pmond, an old kernel without cgroup.kill), pmond says so in
 * pmond.log at start and falls back to process groups.
 *
 * The base is a directory under pmond's own cgroup, named after the daemon
 * (one per data_dir), e.g. /sys/fs/cgroup/system.slice/pmond.service/pmon3-1a2b3c4d5e6f.
 * Each process's cgroup path is stored with its row, so a restarted pmond
 * finds the cgroups of the processes it re-adopts.
 *
 * Why a fresh cgroup per run rather than one per process: a cgroup that was
 * killed (cgroup.kill) kills what is later cloned into it, on the kernels
 * measured here; and a new run never shares a cgroup with the last run's
 * dying leftovers. A run's cgroup is removed once it is empty (retire).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where each process's cgroup lives, and what pmond can do with it. */
export interface Cgroups {
  /** Whether cgroups are in use; when false, why (for pmond.log and `pmon3 version`). */
  readonly state: { usable: true; base: string } | { usable: false; why: string };
  /** A new cgroup directory for run `run` of process id; null when cgroups are not in use. */
  prepare(id: number, run: string): string | null;
  /**
   * Write limits (memory.max, cpu.max, pids.max) into dir, a cgroup prepare made; what could not
   * be written, one line each (a controller this cgroup tree does not offer, cgroups not in use).
   */
  limit(dir: string | null, limits: CgroupLimits): string[];
  /** Stop using cgroups (e.g. the helper could not join one); new processes use process groups only. */
  disable(why: string): void;
  /** Send sig to every process in dir. */
  /** sig to every process in dir, except those of process group exceptGroup (signalled already). */
  signal(dir: string, sig: NodeJS.Signals, exceptGroup?: number): void;
  /** SIGKILL every process in dir at once (cgroup.kill); false if that failed. */
  kill(dir: string): boolean;
  /** Whether no process is left in dir (a missing cgroup is empty). */
  isEmpty(dir: string): boolean;
  /** Whether pid runs in dir. */
  contains(dir: string, pid: number): boolean;
  /** Remove dir if it is empty (best effort). */
  remove(dir: string): void;
  /** Remove dir a second from now, once it is empty (its killed members take a moment to go); gives up after a few seconds. */
  retire(dir: string): void;
  /** At shutdown: remove every empty cgroup of this pmond, and the base if it is empty then. */
  cleanup(): void;
}

/** pid's process group (/proc/PID/stat's fifth field), or undefined if it is gone. */
function pgidOf(pid: number): number | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgid = Number(rest[2]);
  return stat && Number.isInteger(pgid) ? pgid : undefined;
}

/** An instance's cgroup v2 limits, as the files take them. */
export interface CgroupLimits {
  memory_max?: number;
  cpu_max?: string;
  pids_max?: number;
}

const LIMIT_FILES: Array<[keyof CgroupLimits, string, string]> = [
  ['memory_max', 'memory', 'memory.max'],
  ['cpu_max', 'cpu', 'cpu.max'],
  ['pids_max', 'pids', 'pids.max'],
];

/** The cgroup2 mount point, from /proc/self/mountinfo, or null. */
export function cgroup2Mount(mountinfo = readOr('/proc/self/mountinfo')): string | null {
  for (const line of mountinfo.split('\n')) {
    // "36 25 0:31 / /sys/fs/cgroup/unified rw,... shared:9 - cgroup2 cgroup2 rw"
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    if (line.slice(dash + 3).split(' ')[0] !== 'cgroup2') continue;
    const f = line.slice(0, dash).split(' ');
    if (f[3] !== '/') continue; // a bind mount of a sub-tree: not the hierarchy's root
    return unescapeMount(f[4] ?? '');
  }
  return null;
}

/** This process's cgroup v2 path ("0::/system.slice/pmond.service" → "/system.slice/pmond.service"). */
export function ownCgroup(text = readOr('/proc/self/cgroup')): string | null {
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  return line ? line.slice(3) : null;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** No cgroups: every method is a harmless no-op. */
export function noCgroups(why: string): Cgroups {
  return {
    state: { usable: false, why },
    prepare: () => null,
    disable: () => undefined,
    signal: () => undefined,
    kill: () => false,
    isEmpty: () => true,
    contains: () => false,
    remove: () => undefined,
    retire: () => undefined,
    cleanup: () => undefined,
    limit: (_dir, limits) => LIMIT_FILES.filter(([k]) => limits[k] !== undefined).map(([k]) => `${k} not applied: cgroups are not used (${why})`),
  };
}

/**
 * cgroups for the daemon named `daemonId`, if usable here; otherwise noCgroups
 * with the reason. `enabled` is the config key `cgroups`.
 */
export function detectCgroups(daemonId: string, enabled: boolean): Cgroups {
  if (!enabled) return noCgroups('turned off by the config key cgroups: false');
  const mount = cgroup2Mount();
  if (!mount) return noCgroups('no cgroup2 file system is mounted');
  const own = ownCgroup();
  if (own === null) return noCgroups('pmond is not in a cgroup v2 hierarchy (/proc/self/cgroup has no 0:: line)');
  const base = path.join(mount, own, `pmon3-${daemonId}`);
  try {
    fs.mkdirSync(base, { recursive: true, mode: 0o755 });
    fs.accessSync(path.join(base, 'cgroup.procs'), fs.constants.W_OK);
  } catch (e) {
    return noCgroups(`cannot create ${base} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!fs.existsSync(path.join(base, 'cgroup.kill'))) {
    try {
      fs.rmdirSync(base);
    } catch {
      /* in use */
    }
    return noCgroups('this kernel has no cgroup.kill (Linux 5.14 or later is needed)');
  }
  return new Cgroup2(base);
}

class Cgroup2 implements Cgroups {
  state: Cgroups['state'];

  constructor(private readonly base: string) {
    this.state = { usable: true, base };
  }

  /** Controllers turned on for the base's children, once: those its cgroup.controllers offers. */
  private enabled?: Set<string>;

  limit(dir: string | null, limits: CgroupLimits): string[] {
    const want = LIMIT_FILES.filter(([k]) => limits[k] !== undefined);
    if (want.length === 0) return [];
    if (!dir) return want.map(([k]) => `${k} not applied: this instance has no cgroup`);
    if (!this.enabled) {
      this.enabled = new Set();
      const offered = new Set(readOr(path.join(this.base, 'cgroup.controllers')).trim().split(/\s+/).filter(Boolean));
      for (const c of ['memory', 'cpu', 'pids']) {
        if (!offered.has(c)) continue;
        try {
          fs.writeFileSync(path.join(this.base, 'cgroup.subtree_control'), `+${c}`);
          this.enabled.add(c);
        } catch {
          /* said per limit below */
        }
      }
    }
    const out: string[] = [];
    for (const [k, controller, file] of want) {
      if (!this.enabled.has(controller)) {
        out.push(`${k} not applied: the ${controller} controller is not available to ${this.base} (it offers: ${readOr(path.join(this.base, 'cgroup.controllers')).trim() || 'none'})`);
        continue;
      }
      try {
        fs.writeFileSync(path.join(dir, file), String(limits[k]));
      } catch (e) {
        out.push(`${k} not applied: ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    return out;
  }

  prepare(id: number, run: string): string | null {
    if (!this.state.usable) return null;
    const dir = path.join(this.base, `p${id}-${run.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}`);
    try {
      fs.mkdirSync(dir, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return null;
    }
    return dir;
  }

  disable(why: string): void {
    this.state = { usable: false, why };
  }

  signal(dir: string, sig: NodeJS.Signals, exceptGroup?: number): void {
    for (const pid of this.pids(dir)) {
      // The process group was signalled already: a second SIGTERM is "quit now" to many programs.
      if (exceptGroup !== undefined && pgidOf(pid) === exceptGroup) continue;
      try {
        process.kill(pid, sig);
      } catch {
        /* gone */
      }
    }
  }

  kill(dir: string): boolean {
    try {
      fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
      return true;
    } catch {
      return false;
    }
  }

  isEmpty(dir: string): boolean {
    return this.pids(dir).length === 0;
  }

  contains(dir: string, pid: number): boolean {
    const rel = ownCgroup(readOr(`/proc/${pid}/cgroup`));
    return rel !== null && dir.endsWith(rel) && rel.length > 1;
  }

  remove(dir: string): void {
    try {
      fs.rmdirSync(dir);
    } catch {
      /* still populated, or already gone */
    }
  }

  retire(dir: string): void {
    let tries = 0;
    const attempt = (): void => {
      try {
        fs.rmdirSync(dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EBUSY' && ++tries < 50) setTimeout(attempt, 100).unref();
      }
    };
    // Not now: removing a cgroup queues kernel work that takes the cgroup lock the next
    // CLONE_INTO_CGROUP needs, which made restarts 2-3x slower (measured: median 4.9-6.0 ms
    // with p90 10-15 ms when removed at once, 3.2-3.6 ms with p90 4-5 ms a second later).
    setTimeout(attempt, 1000).unref();
  }

  cleanup(): void {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(this.base).filter((e) => /^p\d+(-\w+)?$/.test(e));
    } catch {
      return;
    }
    for (const e of entries) this.remove(path.join(this.base, e));
    this.remove(this.base);
  }

  private pids(dir: string): number[] {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l !== '')
      .map(Number);
  }
}
