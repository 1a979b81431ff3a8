/**
 * Restart policy as a pure function: given how a process ended and its recent
 * history, decide whether to restart now, after a delay, or not at all.
 * Tested without any process (test/unit/restart-policy.test.ts).
 */

/** Tunables, from config. */
export interface RestartPolicy {
  /** Delay before the second consecutive restart, in ms; it doubles after that. */
  initialDelayMs: number;
  /** Cap on the delay, in ms. */
  maxDelayMs: number;
  /** A run at least this long is stable: the next crash restarts at once. */
  stableAfterMs: number;
  /**
   * Flap detection (the Go pmon3's flap_detection): after more than
   * `threshold` quick failures in a row, wait at least `delayMs` (its
   * threshold_countdown) before each further restart.
   *
   * With `decrementMs` (its threshold_decrement, in ms; 0 = none) the Go
   * pmon3's countdown applies (pmond/flap_detector): every `decrementMs`
   * without a restart forgives one restart, so a backoff ends after
   * `decrementMs` when that is shorter than the countdown, and the count
   * stays just at the threshold (the next quick failure backs off again);
   * a backoff that lasts its whole countdown forgives every restart (the
   * next failures restart at once again). Time the process then runs
   * forgives one restart per `decrementMs` too, as the Go countdown goes on
   * while it runs. Without `decrementMs`: every further restart waits `delayMs`.
   */
  flap?: { threshold: number; delayMs: number; decrementMs?: number };
  /** Give up (failed) at this many failures in a row (an app's startretries + 1); absent: never. */
  maxFailures?: number;
  /** Every restart waits at least this long (an app's restart_delay), the first one too. */
  minDelayMs?: number;
}

/** How the last run ended and what came before it. */
export interface ExitFacts {
  /** Whether the process is restarted automatically at all. */
  autoRestart: boolean;
  /** Exit code, or null if killed by a signal or unknown (adopted process). */
  exitCode: number | null;
  /** Terminating signal name, or null. */
  signal: string | null;
  /** How long the run lasted, in ms. */
  uptimeMs: number;
  /** Unstable exits in a row before this one (persisted). */
  consecutiveFailures: number;
}

export type RestartDecision =
  /** Restart after delayMs (0 = at once); failures is the new consecutive count. */
  | { action: 'restart'; delayMs: number; failures: number; flapping?: boolean }
  /** Do not restart; the process ends in this status. */
  | { action: 'give_up'; status: 'failed' | 'stopped'; failures: number };

/** Whether an exit counts as a failure (anything but a clean exit 0). */
export function isFailure(f: Pick<ExitFacts, 'exitCode' | 'signal'>): boolean {
  return !(f.exitCode === 0 && f.signal === null);
}

export function decideRestart(f: ExitFacts, p: RestartPolicy): RestartDecision {
  const stable = f.uptimeMs >= p.stableAfterMs;
  const flap = p.flap;
  const decrementMs = flap?.decrementMs;
  // The Go countdown runs once a process has flapped; each decrement interval it ran forgives a restart.
  const forgiven =
    flap && decrementMs !== undefined && decrementMs > 0 && f.consecutiveFailures >= flap.threshold ? Math.floor(f.uptimeMs / decrementMs) : 0;
  const failures = stable ? 1 : Math.max(0, f.consecutiveFailures - forgiven) + 1;
  if (!f.autoRestart) return { action: 'give_up', status: isFailure(f) ? 'failed' : 'stopped', failures };
  if (p.maxFailures !== undefined && failures >= p.maxFailures && isFailure(f)) return { action: 'give_up', status: 'failed', failures };
  if (failures <= 1) return { action: 'restart', delayMs: p.minDelayMs ?? 0, failures };
  // failures 2, 3, 4 ... → initial, 2×initial, 4×initial ... capped.
  const exp = Math.min(failures - 2, 30);
  const delayMs = Math.max(Math.min(p.initialDelayMs * 2 ** exp, p.maxDelayMs), p.minDelayMs ?? 0);
  if (flap && failures > flap.threshold) {
    if (decrementMs === undefined) return { action: 'restart', delayMs: Math.max(delayMs, flap.delayMs), failures, flapping: true };
    // The decrement ends the backoff first: one restart forgiven, the count back at the threshold.
    if (decrementMs > 0 && decrementMs < flap.delayMs) return { action: 'restart', delayMs: Math.max(delayMs, decrementMs), failures: failures - 1, flapping: true };
    // The countdown ran out: every restart forgiven.
    return { action: 'restart', delayMs: Math.max(delayMs, flap.delayMs), failures: 0, flapping: true };
  }
  return { action: 'restart', delayMs, failures };
}
