/**
 * State transitions as a stream: every status change, and every hook event (start, stop, restart,
 * failure, backoff) with the process JSON a hook gets, published to the subscribers that may see that
 * process (its owner; root and admin_group: all). Bounded: MAX_SUBSCRIBERS at once (MAX_PER_UID
 * for one user, ADMIN_RESERVED kept for root and admin_group); a
 * subscriber that does not keep up is dropped by its door (stream_buffer), never queued here.
 */
import type { HookEvent, HookRunner } from '../hooks/hooks';

export interface StateEvent {
  /** A hook event, or `status`: a status change (process: id, name, from, to, uid, user). */
  event: HookEvent | 'status';
  time: string;
  process: Record<string, unknown>;
}

export const MAX_SUBSCRIBERS = 256;
/** A uid's own streams at most (root and admin_group: none but the total), and the streams only they may open. */
export const MAX_PER_UID = 16;
export const ADMIN_RESERVED = 32;

export class EventBus {
  private readonly subs = new Set<{ uid: number; admin: boolean; fn: (e: StateEvent) => void }>();

  /**
   * Receive events about processes of uid (all with admin); the function ends it. Null when full:
   * MAX_SUBSCRIBERS in all, MAX_PER_UID for one uid, and the last ADMIN_RESERVED for root and
   * admin_group, so no user holding streams keeps an admin from watching.
   */
  subscribe(who: { uid: number; admin: boolean }, fn: (e: StateEvent) => void): (() => void) | null {
    if (this.subs.size >= MAX_SUBSCRIBERS) return null;
    if (!who.admin) {
      if (this.subs.size >= MAX_SUBSCRIBERS - ADMIN_RESERVED) return null;
      let mine = 0;
      for (const s of this.subs) if (s.uid === who.uid) mine++;
      if (mine >= MAX_PER_UID) return null;
    }
    const s = { ...who, fn };
    this.subs.add(s);
    return () => this.subs.delete(s);
  }

  publish(event: HookEvent, payload: Record<string, unknown>): void {
    if (!this.subs.size) return;
    this.deliver({ event, time: new Date().toISOString(), process: payload }, payload.uid);
  }

  /** A status change of a process (uid: its owner). */
  publishStatus(ch: { id: number; name: string; from: string; to: string; uid: number; user: string }): void {
    this.deliver({ event: 'status', time: new Date().toISOString(), process: ch }, ch.uid);
  }

  private deliver(e: StateEvent, uid: unknown): void {
    for (const s of this.subs) {
      if (!s.admin && uid !== s.uid) continue;
      try {
        s.fn(e);
      } catch {
        /* a subscriber's failure is its own */
      }
    }
  }

  get size(): number {
    return this.subs.size;
  }
}

/** hooks, with each event also published on bus. */
export function publishingHooks(hooks: HookRunner, bus: EventBus): HookRunner {
  return {
    fire(event, payload) {
      bus.publish(event, payload);
      hooks.fire(event, payload);
    },
    idle: () => hooks.idle(),
    close: () => hooks.close(),
  };
}
