/**
 * PM2's watch and Firestarter's auto_upgrade: one watcher per app (internal/watch/agent.ts),
 * run as the app's user through the exec helper like any program, so it watches only what that
 * user may read (a root pmond never stats a user's paths). On a change it asks pmond over the
 * socket, as the user, to restart the app — or to reload it (a rolling reload) when the app has
 * shared sockets, where a new instance can start beside the old. It runs while some instance of
 * the app is meant to run, and ends with pmond (it watches its parent).
 */
import type { AppDefinition } from '../apps/model';
import type { Watched } from '../process/spawner';
import type { ProcessRow } from '../store/schema';
import type { Core } from './deps';

/** Whether def's app has a watcher. */
export function wantsWatcher(def: AppDefinition | undefined): boolean {
  return (def?.task?.watch?.length ?? 0) > 0 || def?.task?.auto_upgrade === true;
}

export class Watchers {
  private readonly byApp = new Map<number, Watched>();
  private readonly starting = new Set<number>();

  constructor(
    private readonly c: Core,
    private readonly agent: string | undefined,
    private readonly socket: string | undefined,
  ) {}

  /** row's app has its watcher (started if it has none). */
  async ensure(row: ProcessRow, def: AppDefinition | undefined): Promise<void> {
    if (!wantsWatcher(def) || this.byApp.has(row.app_id) || this.starting.has(row.app_id) || !this.agent || !this.socket) return;
    // Instances starting together make one watcher.
    this.starting.add(row.app_id);
    try {
      await this.start(row, def);
    } finally {
      this.starting.delete(row.app_id);
    }
  }

  private async start(row: ProcessRow, def: AppDefinition | undefined): Promise<void> {
    const t = def!.task!;
    const paths = [...(t.watch ?? []), ...(t.auto_upgrade && row.process_file.startsWith('/') ? [row.process_file] : [])];
    const action = (def!.sockets?.length ?? 0) > 0 ? 'upgrade' : 'restart';
    const user = await this.c.users.user(row.uid);
    const w = await this.c.spawner.spawn({
      file: process.execPath,
      args: [
        this.agent!,
        '--socket',
        this.socket!,
        '--target',
        `${row.user}/${row.name}`,
        '--action',
        action,
        '--debounce',
        String(t.watch_delay_ms ?? 1000),
        ...(t.watch_ignore ?? []).flatMap((g) => ['--ignore', g]),
        '--',
        ...paths,
      ],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: user.home, USER: user.name, LOGNAME: user.name, PMON3_WATCHER: String(row.app_id) },
      cwd: row.cwd,
      uid: row.uid,
      gid: row.gid,
      groups: [...new Set([row.gid, ...user.groups])],
      log: null,
      cgroup: null,
    });
    this.byApp.set(row.app_id, w);
    this.c.logger.info(`${row.name}: watching ${paths.length} path${paths.length === 1 ? '' : 's'} (pid ${w.pid}); a change ${action === 'upgrade' ? 'reloads' : 'restarts'} it`);
    void w.exited.then(() => {
      if (this.byApp.get(row.app_id) === w) this.byApp.delete(row.app_id);
    });
  }

  /** The apps that have a watcher. */
  apps(): number[] {
    return [...this.byApp.keys()];
  }

  /** app's watcher ended (none of its instances is meant to run any more). */
  stop(appId: number): void {
    const w = this.byApp.get(appId);
    if (!w) return;
    this.byApp.delete(appId);
    try {
      process.kill(w.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }

  /** Every watcher (pmond stops). */
  stopAll(): void {
    for (const id of [...this.byApp.keys()]) this.stop(id);
  }
}
