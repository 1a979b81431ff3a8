/**
 * Waiting for process groups to empty, for many stops at once: one walk of
 * /proc per tick serves every waiter (a walk per waiter per tick made
 * stopping 1000 processes take over 20 s). Owned by the supervisor; no
 * module state.
 */
import * as fs from 'node:fs';
import { allPids } from './procfs';

interface Waiter {
  pgid: number;
  deadline: number;
  resolve: (empty: boolean) => void;
}

/** The process groups that still have a live (non-zombie) member. */
export function liveGroups(): Set<number> {
  const out = new Set<number>();
  for (const e of allPids()) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] !== 'Z' && f[0] !== 'X') out.add(Number(f[2]));
  }
  return out;
}

/** Whether any process, zombies included, is in group pgid (kill(-pgid, 0)). */
function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class GroupWatch {
  private waiters: Waiter[] = [];
  private timer?: NodeJS.Timeout;

  constructor(private readonly tickMs = 10) {}

  /** Resolves true once group pgid has no live member, false if deadline (epoch ms) passes first. */
  waitEmpty(pgid: number, deadline: number): Promise<boolean> {
    // The common case costs no walk: no process at all in the group (not even a zombie).
    if (!groupExists(pgid)) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.waiters.push({ pgid, deadline, resolve });
      if (!this.timer) this.tick();
    });
  }

  private tick(): void {
    const live = this.waiters.some((w) => groupExists(w.pgid)) ? liveGroups() : new Set<number>();
    const now = Date.now();
    this.waiters = this.waiters.filter((w) => {
      if (!live.has(w.pgid)) w.resolve(true);
      else if (now >= w.deadline) w.resolve(false);
      else return true;
      return false;
    });
    this.timer = this.waiters.length ? setTimeout(() => this.tick(), this.tickMs) : undefined;
  }
}
