/**
 * The environment a row's programs start with: a clean base (PATH, HOME, USER, LOGNAME, SHELL,
 * and LANG, LC_ALL, TZ if pmond has them), then the app's own env, then pmond's words. Only the
 * app's process itself gets the markers (PMON3_PROCESS_ID, PMON3_DAEMON_ID) that pmond's boot
 * scan adopts by: a hook or an exec_stop carrying them would be taken for a copy of the process.
 */
import { LISTEN_VARS } from '../apps/sockets';
import type { UserInfo } from '../process/users';
import type { ProcessRow } from '../store/schema';

/** The base and the app's env, with PMON3_PROCESS_NAME and PMON3_INSTANCE (what every program of the row sees). */
export function rowEnv(row: ProcessRow, user: UserInfo): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell,
  };
  for (const k of ['LANG', 'LC_ALL', 'TZ']) if (process.env[k]) base[k] = process.env[k]!;
  const own = JSON.parse(row.env) as Record<string, string>;
  // sd_listen_fds' variables are pmond's to set, for the sockets it gives (lifecycle.ts): from
  // an app's own env they would make it take fds 3... for sockets it does not have.
  for (const k of LISTEN_VARS) delete own[k];
  return {
    ...base,
    ...own,
    PMON3_PROCESS_NAME: row.name,
    // A reload's new instance (rolling.ts: -(i+1)) is instance i to its program.
    PMON3_INSTANCE: String(row.instance < 0 ? -row.instance - 1 : row.instance),
  };
}

/** The process's own environment: rowEnv plus the markers boot adopts it by. */
export function processEnv(row: ProcessRow, user: UserInfo, daemonId: string): Record<string, string> {
  return { ...rowEnv(row, user), PMON3_PROCESS_ID: String(row.id), PMON3_DAEMON_ID: daemonId };
}
