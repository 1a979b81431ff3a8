/**
 * The supervisor's units: one per process, its row and, beside it, its runtime (the lock every
 * operation on it runs under, the process watched, a pending delayed restart).
 *
 * setStatus is the single authority over a row's status: it checks the transition table
 * (internal/process/status.ts) first — an illegal (status, event) pair is FAILED_PRECONDITION
 * and nothing is written —, then persists the status with the rest of the change, and only then
 * tells subscribers, so that a subscriber reading the store sees the row it was told about.
 * update() writes everything but the status.
 */
import { readDefinition, type AppDefinition } from '../apps/model';
import type { Logger } from '../logger/logger';
import type { ExitInfo, Watched } from '../process/spawner';
import { transition, type Status, type SupervisorEvent } from '../process/status';
import { internal, notFound } from '../protocol/errors';
import type { ProcessPatch, ProcessRow } from '../store/schema';
import type { Store } from '../store/store';
import { Lock } from './lock';

/** In-memory state of one process, beside its row. */
export interface Runtime {
  lock: Lock;
  /** The process being watched, if any. */
  watched?: Watched;
  /** For a re-adopted process: resolves its `exited` when polling finds it gone. */
  adoptedGone?: (info: ExitInfo) => void;
  /** Pending delayed restart. */
  backoff?: { cancel(): void };
  /** The app's own hooks running now, by kind (null: being spawned): one of each at a time (app-hooks.ts). */
  hooks?: Map<string, Watched | null>;
  /** A crash file is being kept (one at a time). */
  savingCrash?: boolean;
  /** Checks in a row its RSS was over its app's max_memory. */
  memoryOver?: number;
  /** Why pmond killed the process it watches (a ready check out of time): its exit's reason. */
  failReason?: string;
  /** Not restarted by policy when it exits (a rolling reload's new instance: the reload decides). */
  noRestart?: boolean;
  /** Pending `up` (startsecs passed or ready: starting -> running). */
  up?: { cancel(): void };
  /** cpu/memory samples of the process watched, oldest first (save_log_on_crash keeps them with a crash). */
  samples?: Array<{ at: string; cpu: number; memory: number }>;
  /** In a run of delayed restarts whose backoff hook has fired: it fires once on entering backoff (the Go pmon3's one event), not at each delay. */
  inBackoff?: boolean;
}

/** One status change, as subscribers are told of it (after it is in the store). */
export interface StatusChange {
  id: number;
  name: string;
  from: Status;
  to: Status;
  event: SupervisorEvent;
}

/** A row change that is not a status change (those go through setStatus). */
export type Patch = Omit<ProcessPatch, 'status'>;

export class Units {
  private readonly rts = new Map<number, Runtime>();
  private readonly subscribers = new Set<(c: StatusChange) => void>();
  /** Watched processes that are not our children (re-adopted): their exit must be polled. */
  readonly adopted = new WeakSet<Watched>();
  /** Set at shutdown: no exit is acted on, no restart scheduled, from then on. */
  closed = false;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
  ) {}

  /** Process id's runtime, made on first use. */
  rt(id: number): Runtime {
    let rt = this.rts.get(id);
    if (!rt) {
      rt = { lock: new Lock() };
      this.rts.set(id, rt);
    }
    return rt;
  }

  /** Process id's runtime if it has one (never makes one). */
  peek(id: number): Runtime | undefined {
    return this.rts.get(id);
  }

  /** Forget process id's runtime (its row is gone). */
  drop(id: number): void {
    this.rts.delete(id);
  }

  /** Every runtime there is. */
  runtimes(): IterableIterator<Runtime> {
    return this.rts.values();
  }

  /** fn under process id's lock. */
  locked<T>(id: number, fn: () => Promise<T>): Promise<T> {
    return this.rt(id).lock.run(fn);
  }

  get(id: number): Promise<ProcessRow | undefined> {
    return this.store.get(id);
  }

  async mustGet(id: number): Promise<ProcessRow> {
    const row = await this.store.get(id);
    if (!row) throw notFound(`process ${id} not found`);
    return row;
  }

  /** Write fields of row other than its status. */
  update(row: ProcessRow, patch: Patch): Promise<ProcessRow> {
    if ('status' in patch) throw internal(`${row.name}: a status is written by setStatus only`);
    return this.store.update(row.id, patch);
  }

  /**
   * row's status after event, written with patch; FAILED_PRECONDITION (nothing written, nobody
   * told) if the table has no such transition. Subscribers are told once it is stored.
   */
  async setStatus(row: ProcessRow, event: SupervisorEvent, patch: Patch = {}): Promise<ProcessRow> {
    const from = row.status;
    const to = transition(from, event, row.name);
    const cur = await this.store.update(row.id, { ...patch, status: to });
    this.emit({ id: row.id, name: row.name, from, to, event });
    return cur;
  }

  /** Be told of every status change from now on; returns the unsubscribe. */
  subscribe(fn: (c: StatusChange) => void): () => void {
    this.subscribers.add(fn);
    return () => void this.subscribers.delete(fn);
  }

  private emit(c: StatusChange): void {
    for (const fn of this.subscribers) {
      try {
        fn(c);
      } catch (e) {
        // A subscriber's bug is its own: the change is made, the others are told.
        this.logger.error(`a status subscriber failed on ${c.name} ${c.from} -> ${c.to}: ${(e as Error)?.stack ?? String(e)}`);
      }
    }
  }

  /** The stored definition of row's app (its own policy), or undefined (no app, unreadable). */
  async definitionOf(row: ProcessRow): Promise<AppDefinition | undefined> {
    const app = await this.store.getApp(row.app_id);
    return app ? readDefinition(app.spec) : undefined;
  }
}
