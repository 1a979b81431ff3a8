/**
 * State transitions as a stream: every status change, and every hook event (start, stop, restart,
 * failure, backoff) with the process JSON a hook gets, published to the subscribers that may see that
 * process (its owner; root and admin_group: all). Bounded: MAX_SUBSCRIBERS at once; a
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

export class EventBus {
  private readonly subs = new Set<{ uid: number; admin: boolean; fn: (e: StateEvent) => void }>();

  /** Receive events about processes of uid (all with admin); the function ends it. Null when full. */
  subscribe(who: { uid: number; admin: boolean }, fn: (e: StateEvent) => void): (() => void) | null {
    if (this.subs.size >= MAX_SUBSCRIBERS) return null;
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
