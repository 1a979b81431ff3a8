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

/**
 * Timers that share one armAt per time: every fn due at the same instant is called in one turn,
 * in the order armed. 17 cron runs due at one second are asked for back to back, with no I/O
 * callback, database flush or reply handling of the first runs between them (one setTimeout
 * each lands in separate timer lists whose turns the event loop interleaves with all that).
 */
/** The most fns TimerGroups calls in one turn of the event loop. */
export const TURN_MAX = 64;

export class TimerGroups {
  private readonly groups = new Map<number, { timer: { cancel(): void }; fns: Set<() => void> }>();

  constructor(private readonly clock: Clock) {}

  /** Call fn once, when clock.now() >= at (armAt's rules); cancel() stops it. */
  at(at: number, fn: () => void): { cancel(): void } {
    let g = this.groups.get(at);
    if (!g) {
      const fns = new Set<() => void>();
      const group = {
        fns,
        timer: armAt(this.clock, at, () => {
          this.groups.delete(at);
          this.callIn([...fns], fns, 0);
        }),
      };
      this.groups.set(at, group);
      g = group;
    }
    const self = g;
    const once = (): void => fn();
    self.fns.add(once);
    return {
      cancel: () => {
        if (!self.fns.delete(once) || self.fns.size > 0) return;
        self.timer.cancel();
        if (this.groups.get(at) === self) this.groups.delete(at);
      },
    };
  }

  /**
   * fns from i on that are still armed, TURN_MAX per turn: a user with a thousand apps due at one second does not hold
   * pmond's loop (everyone's requests) for the whole of their starts at once.
   */
  private callIn(fns: Array<() => void>, armed: Set<() => void>, i: number): void {
    const end = Math.min(fns.length, i + TURN_MAX);
    for (; i < end; i++) {
      const f = fns[i]!;
      if (!armed.has(f)) continue; // cancelled while an earlier turn ran
      try {
        f();
      } catch {
        /* one fn's throw does not cost the others their turn (callers catch their own) */
      }
    }
    if (end < fns.length) setImmediate(() => this.callIn(fns, armed, end));
  }

  /** How many distinct times are armed (tests). */
  get size(): number {
    return this.groups.size;
  }
}
