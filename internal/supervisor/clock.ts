/** Time and timers, injectable so policy code can be tested without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  },
};

/** clock's now as an ISO time (what rows record). */
export function isoNow(clock: Clock): string {
  return new Date(clock.now()).toISOString();
}
