/** One timer for a far time: setTimeout alone cannot wait past ~24.8 days. */
import type { Clock } from '../supervisor/clock';

/** The longest delay setTimeout takes (2^31-1 ms, ~24.8 days); Node fires a longer one at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Call fn once, when clock.now() >= at: a far time is reached by re-arming in steps of at most MAX_TIMEOUT_MS, and each wake checks the clock again (a wake that comes early re-arms for the rest). cancel() stops it. */
export function armAt(clock: Clock, at: number, fn: () => void): { cancel(): void } {
  let timer: { cancel(): void } | null = null;
  let done = false;
  const arm = (): void => {
    // Integer, never negative: a time already passed still waits for the next tick, not now.
    const ms = Math.min(MAX_TIMEOUT_MS, Math.max(0, Math.ceil(at - clock.now())));
    timer = clock.setTimeout(wake, Number.isFinite(ms) ? ms : MAX_TIMEOUT_MS);
  };
  const wake = (): void => {
    timer = null;
    if (done) return;
    if (clock.now() < at) return arm();
    done = true;
    fn();
  };
  arm();
  return {
    cancel: () => {
      done = true;
      timer?.cancel();
      timer = null;
    },
  };
}
