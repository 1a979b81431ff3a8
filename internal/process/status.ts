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

export const TRANSITIONS: Readonly<Record<Status, Partial<Record<SupervisorEvent, Status>>>> = {
  queued: { start: 'init', stop: 'stopped', adopt: 'running' },
  // lost: caught mid-spawn, it never ran; it starts afresh.
  init: { spawned: 'running', spawn_failed: 'failed', stop: 'stopped', adopt: 'running', lost: 'queued' },
  running: {
    exit_restart: 'restarting',
    exit_backoff: 'backoff',
    exit_failed: 'failed',
    exit_clean: 'stopped',
    restart: 'restarting',
    stop: 'stopped',
    adopt: 'running',
    // lost: it ended while pmond was away, which is a restart.
    lost: 'restarting',
  },
  restarting: { start: 'init', stop: 'stopped', restart: 'restarting', spawn_failed: 'failed', adopt: 'running', give_up: 'failed' },
  backoff: { start: 'init', restart: 'restarting', stop: 'stopped', spawn_failed: 'failed', adopt: 'running', give_up: 'failed' },
  stopped: { enqueue: 'queued', start: 'init', restart: 'restarting', stop: 'stopped', adopt: 'running' },
  failed: { enqueue: 'queued', start: 'init', restart: 'restarting', stop: 'stopped', adopt: 'running' },
};

/** The status after `event`, or FAILED_PRECONDITION if the pair is illegal. */
export function transition(from: Status, event: SupervisorEvent, name = 'process'): Status {
  const to = TRANSITIONS[from][event];
  if (!to) throw failedPrecondition(`${name}: cannot ${event.replace('_', ' ')} while ${from}`);
  return to;
}

/** Whether a status means a process is (or is about to be) alive. */
export function isActive(s: Status): boolean {
  return s === 'running' || s === 'init' || s === 'restarting' || s === 'backoff' || s === 'queued';
}
