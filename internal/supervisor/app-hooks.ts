/**
 * An app's own hooks (pre_start, post_start, pre_stop, post_stop) and its exec_stop: an argv
 * (never a shell) run as the app's user, through the exec helper like the app itself (groups,
 * gid and uid dropped before anything the user controls is touched), with the app's env and
 * cwd, its output appended to the app's log (no byte through pmond), and a time limit after
 * which its whole process group is killed.
 *
 * What it is told: PMON3_HOOK (which), PMON3_REASON (why the process last stopped, if known),
 * PMON3_PID and MAINPID (the process's pid, when it has one), PMON3_EXIT_CODE / PMON3_SIGNAL
 * (how it last ended). It carries no PMON3_PROCESS_ID nor PMON3_DAEMON_ID (env.ts), so a hook
 * still running when pmond is killed is never adopted as the process; it then runs to its own
 * end, its time limit gone with that pmond (said in the README).
 */
import type { ProcessRow } from '../store/schema';
import type { Core } from './deps';
import { rowEnv } from './env';
import { logTarget } from './logs';

export type AppHook = 'pre_start' | 'post_start' | 'pre_stop' | 'post_stop' | 'exec_stop' | 'upgrader';

/** How long a hook may run when its app says nothing (hook_timeout). */
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

/** How a hook ended: ok (exit 0), or why not in a few words. */
export type HookResult = { ok: true } | { ok: false; why: string };

/** Run hook `which` of row (argv) as its user; resolves once it ended or was killed at timeoutMs. Never rejects. */
export async function runAppHook(c: Core, row: ProcessRow, which: AppHook, argv: readonly string[], timeoutMs: number, pid: number | null = row.pid): Promise<HookResult> {
  // One of each kind per process at a time: a crash loop whose post_stop runs long cannot pile up
  // hook processes (at most five per process, each with its time limit).
  const rt = c.units.rt(row.id);
  rt.hooks ??= new Map();
  if (rt.hooks.has(which)) {
    c.logger.warn(`${row.name}: ${which} not run: the last one still runs`);
    return { ok: false, why: `${which} not run: the last one still runs` };
  }
  rt.hooks.set(which, null);
  try {
    return await runHook(c, row, which, argv, timeoutMs, pid);
  } finally {
    rt.hooks.delete(which);
  }
}

/**
 * Kill row id's running pre_start, pre_stop and exec_stop (they hold its lock): a stop, a delete
 * or pmond's shutdown never waits for a hook of the user's that takes its time. The start it
 * gated fails (pre_start killed by SIGKILL); a stop goes on to the signal.
 */
export function interruptHooks(c: Core, id: number): void {
  for (const [which, w] of c.units.peek(id)?.hooks ?? []) {
    if (w && which !== 'post_start' && which !== 'post_stop') c.os.signalGroup(w.pid, 'SIGKILL');
  }
}

async function runHook(c: Core, row: ProcessRow, which: AppHook, argv: readonly string[], timeoutMs: number, pid: number | null): Promise<HookResult> {
  let w;
  try {
    const user = await c.users.user(row.uid);
    w = await c.spawner.spawn({
      file: argv[0]!,
      args: argv.slice(1),
      env: {
        ...rowEnv(row, user),
        PMON3_HOOK: which,
        ...(row.reason ? { PMON3_REASON: row.reason } : {}),
        ...(pid !== null ? { PMON3_PID: String(pid), MAINPID: String(pid) } : {}),
        ...(row.last_exit_code !== null ? { PMON3_EXIT_CODE: String(row.last_exit_code) } : {}),
        ...(row.last_signal !== null ? { PMON3_SIGNAL: row.last_signal } : {}),
      },
      cwd: row.cwd,
      uid: row.uid,
      gid: row.gid,
      groups: [...new Set([row.gid, ...user.groups])],
      log: logTarget(c.config.logs_dir, row.log),
      cgroup: null,
    });
  } catch (e) {
    c.logger.warn(`${row.name}: ${which} ${argv[0]} could not run: ${(e as Error).message}`);
    return { ok: false, why: `${which} could not run: ${(e as Error).message}` };
  }
  c.units.rt(row.id).hooks?.set(which, w);
  let timer: { cancel(): void } | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = c.os.after(timeoutMs, () => r('timeout'))));
  const end = await Promise.race([w.exited, timedOut]);
  timer?.cancel();
  // Whatever it left in its group goes with it (a backgrounded child of a hook is no orphan of ours).
  c.os.signalGroup(w.pid, 'SIGKILL');
  if (end === 'timeout') {
    c.logger.warn(`${row.name}: ${which} ${argv[0]} ran past ${timeoutMs} ms; killed`);
    return { ok: false, why: `${which} ran past ${timeoutMs} ms` };
  }
  if (end.code === 0) return { ok: true };
  const why = end.signal ? `${which} killed by ${end.signal}` : `${which} exited with code ${end.code}`;
  c.logger.warn(`${row.name}: ${why}`);
  return { ok: false, why };
}
