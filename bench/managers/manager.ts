/**
 * One process manager as the workloads see it. Each adapter runs its
 * manager with private state (a temp dir, its own socket, loopback only),
 * remembers every pid it ever saw, and stops all of it by pid in shutdown().
 */
import { alive, killRef, nowMs, ref, sleep, type Cmd, type ProcRef } from '../lib/proc';

/** A program to manage. */
export interface ProgramSpec {
  /** Unique name (letters, digits, '-'). */
  name: string;
  /** Absolute path of the executable (a Node script is run by process.execPath). */
  file: string;
  args: string[];
  /** Whether file is a Node script (PM2 then runs it in its node fork mode, as PM2 users do). */
  node?: boolean;
  /** Where stdout and stderr go; the adapter's default log otherwise. */
  log?: string;
  /** Environment variables beyond the manager's defaults (letters, digits, _ in names and values). */
  env?: Record<string, string>;
  /**
   * Rotate the log every `mib` MiB, keeping `keep` old files (LOG.1 newest), uncompressed:
   * pmon3 `rotate: {size: NM, keep}` (logger mode, through its apps file), supervisord
   * `stdout_logfile_maxbytes=NMB`, `stdout_logfile_backups`. Only the flood-rotate workload sets it.
   */
  rotate?: { mib: number; keep: number };
}

/**
 * Programs from a file, as an operator keeps them: pmon3's apps file and `apply -f`,
 * supervisord's program sections and `update`/`start all`, PM2's ecosystem file and `start`.
 */
export interface FileApps {
  /**
   * Write the file(s) that define exactly specs (untimed). autostart false: for a manager whose
   * start call does not read the file (supervisord's `start all`), defined and loaded, not started.
   */
  writeApps(specs: ProgramSpec[], autostart: boolean): Promise<void>;
  /** The call that starts everything the file defines (pmon3 `apply -f`, supervisorctl `start all`, pm2 `start FILE`). */
  startCmd(): Cmd;
  /** The call that converges on the file as it is now, restarting only what changed; undefined if the manager has none. */
  convergeCmd(): Cmd | undefined;
}

/** A program run on a schedule (the cron workload): cron has 6 fields, seconds first. */
export interface CronSpec extends ProgramSpec {
  cron: string;
}

/**
 * Programs run on a schedule, from a file: pmon3's cron apps (`cron:`, `apply -f`), PM2's
 * `cron_restart` with `autorestart: false` (ecosystem file, `pm2 start`). supervisord has none.
 */
export interface CronApps {
  /** Write the file that defines exactly specs, each run on its schedule (untimed). */
  writeCron(specs: CronSpec[]): Promise<void>;
  /** The call that arms them (pmon3 `apply -f`, `pm2 start FILE`). */
  armCmd(): Cmd;
  /**
   * How many of names are armed and at rest between runs: pmon3 `scheduled`; PM2 `stopped`
   * (it runs each app once at `start`, then its cron job restarts it).
   */
  armed(names: readonly string[]): Promise<number>;
  /** The daemon's own log, for what it said while the runs were late or missing. */
  daemonLog?(): string;
}

/** The reload workload's app: one node HTTP server, several instances on one port. */
export interface RollingSpec {
  name: string;
  /** The node script (bench/fixtures/http-app.js), run by process.execPath. */
  script: string;
  instances: number;
  /** 127.0.0.1:port every instance serves on. */
  port: number;
}

/**
 * A rolling reload: pmon3 `reload NAME` of an app of instances on one shared socket with
 * `ready: notify`; PM2 `reload NAME` of a cluster-mode app with `wait_ready`. supervisord has none.
 */
export interface RollingApps {
  /** Define and start the app (untimed) and wait until every instance is up and ready. */
  deploy(spec: RollingSpec): Promise<void>;
  /** The call that replaces every instance, new beside old. */
  reloadCmd(name: string): Cmd;
  /** pids of the app's running (ready) instances, from the manager itself. */
  instancePids(name: string): Promise<number[]>;
}

/**
 * The commands workload's calls, by pmon3's names (`dash-help` is `--help`,
 * `exec-help` is `exec --help`); each adapter maps them to its own CLI.
 */
export const COMMANDS = ['ls', 'desc', 'log', 'stop', 'start', 'restart', 'reset', 'del', 'version', 'help', 'dash-help', 'exec-help'] as const;
export type Command = (typeof COMMANDS)[number];

export interface Manager {
  /** Column name in the table. */
  readonly name: string;
  /** Set on a CLI-only view of another column's daemon (pmon3 through oclif): daemon workloads skip it. */
  readonly cliVariantOf?: string;
  /** Start the daemon and wait until it answers. */
  start(): Promise<void>;
  /** pid of the daemon (the one process whose RSS and CPU are the manager's footprint). */
  daemonPid(): number;
  /**
   * Start programs the fastest way the manager offers (persistent client,
   * ecosystem file, config include) and wait until all of them run.
   */
  startMany(specs: ProgramSpec[]): Promise<void>;
  /**
   * The CLI call that starts one new program, as a user types it; undefined
   * if the manager has none. `prepare` runs before the timed call (untimed
   * only if it is not part of what a user must do; supervisord's config file
   * write is timed together with its update call).
   */
  cliStart?(spec: ProgramSpec): { prepare?: () => void; cmd: Cmd };
  /** The CLI call that lists programs, human or JSON; undefined if there is none. */
  listCmd(json: boolean): Cmd | undefined;
  /**
   * The CLI call for one command of the commands workload on program name, as a user
   * types it; undefined where the manager has no equivalent (an empty cell).
   */
  commandCmd(c: Command, name: string): Cmd | undefined;
  /** name → pid of every running program, from the manager itself. */
  pids(): Promise<Map<string, number>>;
  /** Stop and remove one program. */
  remove(name: string): Promise<void>;
  /** Stop and remove every program; the daemon keeps running, empty. */
  clear(): Promise<void>;
  /** Stop every program and the daemon, by pid; never throws. */
  shutdown(): Promise<void>;
  /** Programs from a file (the apps workload). */
  readonly fileApps?: FileApps;
  /** Programs run on a schedule (the cron workload); absent: the manager has no cron. */
  readonly cronApps?: CronApps;
  /** A rolling reload of an app of instances (the reload workload); absent: the manager has none. */
  readonly rollingApps?: RollingApps;
}

/** Remember pid (with its start time) so shutdown kills exactly that process. */
export function rememberPid(seen: Map<number, ProcRef>, pid: number): void {
  const r = ref(pid);
  if (r) seen.set(pid, r);
}

/**
 * The end every adapter shares: ask the manager to stop (stop), wait up to
 * graceMs for its daemon to exit, and whatever happens, kill by pid every
 * process it ever reported.
 */
export async function shutdownDaemon(pid: number | undefined, stop: () => Promise<unknown>, graceMs: number, seen: Map<number, ProcRef>): Promise<void> {
  try {
    if (pid && alive(pid)) {
      await stop();
      const deadline = nowMs() + graceMs;
      while (alive(pid) && nowMs() < deadline) await sleep(50);
    }
  } catch {
    /* fall through to the kill by pid */
  } finally {
    for (const r of seen.values()) killRef(r);
  }
}
