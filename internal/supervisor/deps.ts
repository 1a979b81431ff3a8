/**
 * What the supervisor is made of: who asks (Caller), the config it reads, the interfaces it is
 * given (SupervisorDeps, wired in internal/daemon/daemon.ts), and Core, what its parts share.
 */
import type { Config } from '../config/config';
import type { LogPipeSource } from '../process/log-pipes';
import type { HookRunner } from '../hooks/hooks';
import type { Logger } from '../logger/logger';
import type { Cgroups } from '../process/cgroups';
import type { SocketSource } from '../process/socket-holder';
import type { Spawner } from '../process/spawner';
import type { UserResolver } from '../process/users';
import type { ProcessRow } from '../store/schema';
import type { Store } from '../store/store';
import type { RunClaimsLike } from '../schedule/claims';
import type { Clock } from './clock';
import type { Os } from './os';
import type { NotifySource } from './checks';
import type { Units } from './units';
import type { AppFacts } from './views';

/** Who is asking, as the kernel told the server. */
export interface Caller {
  uid: number;
  gid: number;
  pid: number;
  /** root, or a member of admin_group: may act on every process. */
  admin: boolean;
}

export type SupervisorConfig = Pick<
  Config,
  | 'logs_dir'
  | 'stop_timeout'
  | 'stop_signal'
  | 'restart_backoff_initial'
  | 'restart_backoff_max'
  | 'restart_stable_after'
  | 'process_monitor_interval'
  | 'flap_detection'
  | 'data_dir'
  | 'max_processes_per_user'
  | 'max_command_bytes'
>;

export interface SupervisorDeps {
  store: Store;
  spawner: Spawner;
  hooks: HookRunner;
  users: UserResolver;
  clock: Clock;
  logger: Logger;
  config: SupervisorConfig;
  /** uid pmond runs as. An unprivileged pmond can only run processes as itself. */
  daemonUid: number;
  /** This pmond's mark (one per data_dir), given to every child as PMON3_DAEMON_ID. */
  daemonId: string;
  /** This boot's id: pids recorded in another boot are never adopted nor signalled. */
  bootId: string;
  cgroups: Cgroups;
  /** Where a cron run's start is claimed without waiting for the database (internal/schedule/claims.ts); absent: it waits. */
  runClaims?: RunClaimsLike;
  /** Where instances send sd_notify messages (the native addon's socket); absent: ready: notify and watchdog cannot start. */
  notify?: NotifySource;
  /** Firestarter's ack socket ($FIRESTARTER_SOCK_PATH): a worker:ack line counts as READY=1. */
  ackSocket?: NotifySource;
  /** The directory of Firestarter live-check files (pmond's own, 0711); absent: live_check_timeout cannot start. */
  liveDir?: string;
  /** The log pipes of logger mode (the exec server); absent: rotation and timestamps cannot start. */
  logPipes?: LogPipeSource;
  /** The watch agent (internal/watch/agent.js) and the socket it asks pmond on; absent: watch and auto_upgrade do nothing. */
  watchAgent?: { script: string; socket: string };
  /** pmon3-log's path. */
  loggerBin?: string;
  /** Where apps' listening sockets are held (the exec server); absent: an app with sockets cannot start. */
  sockets?: SocketSource;
  /**
   * The OS calls the supervisor makes itself (signals, /proc, usage, polling). pmond passes
   * systemOs() (internal/daemon/daemon.ts), tests a fake; left out, the Supervisor makes its own.
   */
  os?: Os;
}

/** What every part of the supervisor shares: its deps and the per-process runtime. */
export interface Core extends Omit<SupervisorDeps, 'os'> {
  os: Os;
  units: Units;
  /** Each app's kind and groups, read once per stored app object (views.ts). */
  facts: AppFacts;
  /** Set once by the Supervisor: rows of apps with `after` are started through it (tasks.ts). */
  after?: { startAfter(rows: readonly ProcessRow[]): void };
}
