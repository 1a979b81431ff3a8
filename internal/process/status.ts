/**
 * The supervision state machine, s6-style: every legal (status, event) pair
 * is listed, and anything else is a FAILED_PRECONDITION, never a silent
 * overwrite.
 */
import { failedPrecondition } from '../protocol/errors';
import type { Status } from '../protocol/methods';

export type { Status };

/** What can happen to a process. */
export type SupervisorEvent =
  /** Waiting to be started (daemon start-up, dependency order later). */
  | 'enqueue'
  /** A spawn is about to happen. */
  | 'start'
  /** The spawn succeeded and the process is running. */
  | 'spawned'
  /** The spawn succeeded; it counts as started once it has stayed up for its startsecs. */
  | 'spawned_wait'
  /** It stayed up for its startsecs. */
  | 'up'
  /** A `once` app exited 0: done, not restarted. */
  | 'exit_completed'
  /** A `cron` app's run ended: waiting for its next run. */
  | 'exit_scheduled'
  /** A `cron` app's schedule is armed (no run under way). */
  | 'arm'
  /** The spawn failed (binary vanished, exec error). */
  | 'spawn_failed'
  /** It exited and policy says restart now. */
  | 'exit_restart'
  /** It exited and policy says restart after a delay. */
  | 'exit_backoff'
  /** It exited, will not be restarted, and it failed (non-zero, signal). */
  | 'exit_failed'
  /** It exited cleanly and will not be restarted. */
  | 'exit_clean'
  /** A user restart: the old process is being replaced. */
  | 'restart'
  /** A stop completed (or nothing was running). */
  | 'stop'
  /** A running process found alive on daemon start and taken back. */
  | 'adopt'
  /** On daemon start: the process it recorded is gone (it ended while pmond was away); to be brought back. */
  | 'lost'
  /** On daemon start: a process lost while it ran is not brought back (no auto restart). */
  | 'give_up';

/** What a live process (running, or starting: up, not yet for its startsecs) can go through. */
const LIVE = {
  exit_restart: 'restarting',
  exit_backoff: 'backoff',
  exit_failed: 'failed',
  exit_clean: 'stopped',
  exit_completed: 'completed',
  exit_scheduled: 'scheduled',
  restart: 'restarting',
  stop: 'stopped',
  adopt: 'running',
  // lost: it ended while pmond was away, which is a restart.
  lost: 'restarting',
} as const satisfies Partial<Record<SupervisorEvent, Status>>;

/** What an app at rest (nothing runs, nothing is due) can go through: be queued, started, armed, adopted. */
const AT_REST = { enqueue: 'queued', start: 'init', restart: 'restarting', stop: 'stopped', adopt: 'running', arm: 'scheduled' } as const satisfies Partial<
  Record<SupervisorEvent, Status>
>;

export const TRANSITIONS: Readonly<Record<Status, Partial<Record<SupervisorEvent, Status>>>> = {
  queued: { start: 'init', stop: 'stopped', adopt: 'running', arm: 'scheduled' },
  // lost: caught mid-spawn, it never ran; it starts afresh.
  init: { spawned: 'running', spawned_wait: 'starting', spawn_failed: 'failed', stop: 'stopped', adopt: 'running', lost: 'queued' },
  starting: { ...LIVE, up: 'running' },
  running: LIVE,
  restarting: { start: 'init', stop: 'stopped', restart: 'restarting', spawn_failed: 'failed', adopt: 'running', give_up: 'failed', arm: 'scheduled' },
  backoff: { start: 'init', restart: 'restarting', stop: 'stopped', spawn_failed: 'failed', adopt: 'running', give_up: 'failed', arm: 'scheduled' },
  stopped: AT_REST,
  failed: AT_REST,
  completed: AT_REST,
  // A run of its schedule starts (start), or it is run now, stopped (disarmed), found running.
  scheduled: AT_REST,
};

/** The status after `event`, or FAILED_PRECONDITION if the pair is illegal. */
export function transition(from: Status, event: SupervisorEvent, name = 'process'): Status {
  const to = TRANSITIONS[from][event];
  if (!to) throw failedPrecondition(`${name}: cannot ${event.replace('_', ' ')} while ${from}`);
  return to;
}

/** Whether a status means a process is (or is about to be) alive. */
export function isActive(s: Status): boolean {
  return s === 'running' || s === 'starting' || s === 'init' || s === 'restarting' || s === 'backoff' || s === 'queued';
}
