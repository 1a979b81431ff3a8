/**
 * Exits of the children pmond did not spawn through libuv: with a cgroup, the
 * exec helper creates the program as pmond's child (clone3 CLONE_PARENT), so
 * no ChildProcess knows it. The native reaper (internal/native/native.c)
 * waits for each on a pidfd in a thread of its own and reports here.
 */
import * as os from 'node:os';
import type { Native } from '../native';
import type { ExitInfo } from './spawner';

/** Waits for pmond's clone3'd children. */
export interface Reaper {
  /** Resolves with pid's exit; pid must be a child of pmond that nothing else waits for. */
  watch(pid: number): Promise<ExitInfo>;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(os.constants.signals).map(([name, n]) => [n, name]));

export class NativeReaper implements Reaper {
  private readonly waiting = new Map<number, (info: ExitInfo) => void>();
  /** Keeps the event loop alive while an exit is awaited (the native callback is unref'd). */
  private hold?: NodeJS.Timeout;

  /** Starts the native reaper thread: one NativeReaper per process. */
  constructor(private readonly native: Pick<Native, 'startReaper' | 'watchPid'>) {
    native.startReaper((pid, code, signal) => {
      const resolve = this.waiting.get(pid);
      this.waiting.delete(pid);
      this.release();
      resolve?.({ code: code >= 0 ? code : null, signal: signal > 0 ? (SIGNAL_NAMES.get(signal) ?? `SIG${signal}`) : null });
    });
  }

  watch(pid: number): Promise<ExitInfo> {
    return new Promise((resolve) => {
      this.waiting.set(pid, resolve);
      this.hold ??= setInterval(() => undefined, 1 << 30);
      try {
        this.native.watchPid(pid);
      } catch {
        // Not our child (any more): nothing will report it. Gone, status unknown.
        this.waiting.delete(pid);
        this.release();
        resolve({ code: null, signal: null });
      }
    });
  }

  private release(): void {
    if (this.waiting.size > 0 || !this.hold) return;
    clearInterval(this.hold);
    this.hold = undefined;
  }
}
