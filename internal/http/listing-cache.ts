/**
 * Replies of GET /v1/processes kept for a moment: a dashboard in five tabs, or scripts polling
 * it, on a box of 1000 processes ask for the same listing again and again, and each one costs
 * pmond ~5 ms of its one thread (the /v1/rpc methods are made for each call, as on the socket).
 * A reply is given again while the store is at the generation it was made at (no row or app
 * changed, nothing newly saved) and it is younger than LISTING_TTL_MS, the age cpu and memory
 * readings have anyway (USAGE_TTL_MS): what it adds is an uptime up to a second old. Made per
 * caller (an admin sees all, a user its own) and kind (table or full); listings asked for while
 * one is being made wait for it. Bounded by keys and bytes.
 */
import { USAGE_TTL_MS } from '../supervisor/os';

/** How long a reply is given again at the same store generation. */
export const LISTING_TTL_MS = USAGE_TTL_MS;
/** At most this many replies kept (callers × kinds); past it, all are dropped. */
export const LISTING_KEYS = 32;
/** At most this many bytes of replies kept; past it, all are dropped. */
export const LISTING_BYTES = 8 * 1024 * 1024;

interface Entry {
  gen: number;
  at: number;
  body: Promise<Buffer>;
  size: number;
}

export class ListingCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  /** generation: the store's (Store.generation); now: the clock the age is measured by. */
  constructor(
    private readonly generation: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The reply for key: the kept one if still good, else make()'s (kept, unless it fails). */
  get(key: string, make: () => Promise<Buffer>): Promise<Buffer> {
    // The generation before making: a change while it is made leaves the entry stale at once.
    const gen = this.generation();
    const t = this.now();
    const e = this.entries.get(key);
    // A clock stepped back (age below 0) is no reason to keep a reply longer.
    if (e && e.gen === gen && t - e.at >= 0 && t - e.at < LISTING_TTL_MS) return e.body;
    this.drop(key);
    if (this.entries.size >= LISTING_KEYS) this.clear();
    const body = make();
    const entry: Entry = { gen, at: t, body, size: 0 };
    this.entries.set(key, entry);
    body.then(
      (b) => {
        if (this.entries.get(key) !== entry) return;
        entry.size = b.length;
        this.bytes += b.length;
        if (this.bytes > LISTING_BYTES) this.clear();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key); // an error is not kept
      },
    );
    return body;
  }

  /** How many replies and bytes are kept (tests). */
  size(): { keys: number; bytes: number } {
    return { keys: this.entries.size, bytes: this.bytes };
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.bytes -= e.size;
    this.entries.delete(key);
  }

  private clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
