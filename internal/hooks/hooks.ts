/**
 * Event hooks: the configured executable runs with the process JSON as its
 * only argument ($1), through execFile (argv, never a shell), with a time
 * limit, at most `concurrency` at once and a bounded queue behind them, so a
 * restart storm cannot fork without bound. A hook that fails, hangs or is
 * missing is logged and changes nothing else.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../logger/logger';

export const HOOK_EVENTS = ['restart', 'failure', 'backoff', 'start', 'stop'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Runs hooks. */
export interface HookRunner {
  /** Queue the hook for event (no-op if none is configured). Never throws. */
  fire(event: HookEvent, payload: Record<string, unknown>): void;
  /** Resolves when nothing is running or queued (tests, shutdown). */
  idle(): Promise<void>;
}

export interface HookOptions {
  /** Executable per event; empty or missing = no hook. */
  paths: Partial<Record<HookEvent, string>>;
  timeoutMs: number;
  concurrency: number;
  /** Most hooks waiting; beyond that new ones are dropped (and logged). */
  maxQueued: number;
  /** Checked before every run (StrictModes for a root pmond); throws to refuse. */
  check?: (file: string) => void;
}

export class ExecHookRunner implements HookRunner {
  private running = 0;
  private queue: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly opts: HookOptions,
    private readonly log: Logger,
  ) {}

  fire(event: HookEvent, payload: Record<string, unknown>): void {
    const file = this.opts.paths[event];
    if (!file) return;
    const json = JSON.stringify(payload);
    const job = (): void => this.exec(event, file, json);
    if (this.running < this.opts.concurrency) {
      job();
    } else if (this.queue.length < this.opts.maxQueued) {
      this.queue.push(job);
    } else {
      this.log.warn(`hook ${event}: queue full (${this.opts.maxQueued}); dropped`, { hook: file, process: payload.name });
    }
  }

  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private exec(event: HookEvent, file: string, json: string): void {
    try {
      this.opts.check?.(file);
    } catch (e) {
      this.log.warn(`hook ${event} not run: ${(e as Error).message}`, { hook: file });
      if (this.running === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.running++;
    const started = Date.now();
    execFile(
      file,
      [json],
      { timeout: this.opts.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
      (err, _stdout, stderr) => {
        const ms = Date.now() - started;
        if (err) {
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
          const why = e.killed ? `killed after ${this.opts.timeoutMs} ms` : typeof e.code === 'string' ? e.code : `exit ${String(e.code)}`;
          this.log.warn(`hook ${event} failed: ${why}`, { hook: file, stderr: String(stderr).slice(0, 500) });
        } else {
          this.log.debug(`hook ${event} ran`, { hook: file, ms });
        }
        this.running--;
        const next = this.queue.shift();
        if (next) next();
        else if (this.running === 0) for (const w of this.idleWaiters.splice(0)) w();
      },
    );
  }
}
