/**
 * Composition of the daemon: config, logger, store, spawner, hooks,
 * supervisor and server, built here and injected, never module singletons.
 * cmd/pmond/main.ts only calls runDaemon().
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../config/config';
import { goFieldsRunner } from '../hooks/go-fields';
import { ExecHookRunner } from '../hooks/hooks';
import { createLogger, type Logger } from '../logger/logger';
import { NativeNotify } from '../process/notify';
import { checkExecHelper, execHelperPath, loadNative, loggerPath, peerCredReader } from '../native';
import { detectCgroups } from '../process/cgroups';
import { readBootId, scanMarked } from '../process/procfs';
import { ExecServer } from '../process/exec-server';
import { NativeReaper } from '../process/reaper';
import { SocketHolder } from '../process/socket-holder';
import { LogPipes } from '../process/log-pipes';
import { AckSocket } from '../process/ack-socket';
import { dirIdentities, HelperSpawner } from '../process/spawner';
import { GetentUserResolver } from '../process/users';
import { failedPrecondition, invalidArgument, PmonError } from '../protocol/errors';
import { LogReaders } from '../server/log-reader';
import { Server } from '../server/server';
import { RunClaims } from '../schedule/claims';
import { openStore } from '../store/store';
import { systemClock } from '../supervisor/clock';
import { systemOs } from '../supervisor/os';
import { Supervisor } from '../supervisor/supervisor';
import { assertRootOnly } from '../config/strict-modes';
import { configuredApps } from '../apps/configured';
import { acquireDaemonLock } from './lockfile';
import { EventBus, publishingHooks } from '../server/events';
import { openDoor } from '../http/compose';
import { History, Sampler } from '../stats/history';
import { allPages } from '../protocol/methods';

/**
 * The configured apps files (config `apps`) applied at boot, as pmond's own user with prune: what
 * they define is added or changed, what they no longer define goes. An error (a bad file, one not
 * root's alone) changes nothing and is one line in pmond.log: the table stays as it was.
 */
async function applyConfigured(supervisor: Supervisor, config: Config, daemonUid: number, logger: Logger): Promise<void> {
  try {
    const { apps, files } = configuredApps(config, daemonUid);
    const r = await supervisor.apply({ uid: daemonUid, gid: process.getgid?.() ?? daemonUid, pid: process.pid, admin: true }, { apps, files, prune: true, dry_run: false });
    const c = r.counts;
    logger.info(`apps: ${apps.length} from ${files.length} files: ${c.added ?? 0} added, ${c.changed ?? 0} changed, ${c.removed ?? 0} removed, ${c.unchanged ?? 0} unchanged`);
  } catch (e) {
    logger.error(`apps: not applied, the table is left as it was: ${(e as Error).message}`);
  }
}

/** Create a directory (and parents) or fail naming the config key. */
function ensureDir(key: string, dir: string, mode: number): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode });
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw invalidArgument(`${key} ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * This pmond's mark, one per data_dir: given to every child as PMON3_DAEMON_ID, so that a
 * pmond finds its own live children (and only its own) even when its table lags behind.
 */
export function daemonIdFor(dataDir: string): string {
  let real = dataDir;
  try {
    real = fs.realpathSync(dataDir);
  } catch {
    /* not there yet */
  }
  return createHash('sha256').update(real).digest('hex').slice(0, 12);
}

/** Whether this kernel is at least major.minor (os.release(), e.g. "6.1.0-18-amd64"). */
function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return !!m && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor));
}

export interface RunningDaemon {
  logger: Logger;
  /** Stop serving; stop children too if stopChildren. */
  shutdown(stopChildren: boolean): Promise<void>;
}

export async function startDaemon(config: Config, version: string): Promise<RunningDaemon> {
  const daemonUid = process.getuid?.() ?? 0;
  const hookPaths = {
    restart: config.on_process_restart_exec,
    failure: config.on_process_failure_exec,
    backoff: config.on_process_backoff_exec,
    start: config.on_process_start_exec,
    stop: config.on_process_stop_exec,
  };
  if (daemonUid === 0) {
    // What decides what root runs must be root's alone (sshd's StrictModes).
    if (fs.existsSync(config.config_path)) assertRootOnly('config', config.config_path);
    for (const [event, file] of Object.entries(hookPaths)) if (file) assertRootOnly(`hook on_process_${event}_exec`, file);
  }
  // Without the native parts pmond cannot tell who calls, nor start anything safely: refuse to start.
  const native = loadNative();
  const helperMissing = checkExecHelper();
  if (helperMissing) throw failedPrecondition(helperMissing);
  ensureDir('data_dir', config.data_dir, 0o700);
  ensureDir('logs_dir', config.logs_dir, 0o755);
  const daemonId = daemonIdFor(config.data_dir);
  // Before the table is opened: if it cannot be, the error names the children still running.
  const scan = scanMarked(daemonId);
  const marked = scan.marked;
  const logger = createLogger(config.logs_dir, config.log_level);
  // Go pmon3 keys that do not apply here, keys set in both spellings, a config file not read.
  for (const notice of config.notices) logger.info(notice);
  const lock = acquireDaemonLock(config.data_dir);
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(config.data_dir, { logger });
  } catch (e) {
    lock.release();
    if (marked.length === 0 || !(e instanceof PmonError)) throw e;
    // Named by their markers, which any user can forge: a bounded list, each name as cut by scanMarked.
    const shown = marked.slice(0, 20).map((m) => `pid ${m.pid} (${m.name}, uid ${m.uid})`);
    if (marked.length > shown.length) shown.push(`and ${marked.length - shown.length} more`);
    throw new PmonError(e.code, `${e.message}; ${marked.length} processes this pmond started still run and are left alone: ${shown.join(', ')}`);
  }
  const users = new GetentUserResolver();
  const reader = peerCredReader(native);
  if (!reader) logger.warn(`kernel identity turned off (PMON3_NO_PEERCRED=1); only uid ${daemonUid} may connect (socket mode 0600)`);
  const cgroups = detectCgroups(daemonId, config.cgroups);
  logger.info(
    cgroups.state.usable
      ? `cgroups: each process runs in a cgroup of its own under ${cgroups.state.base}`
      : `cgroups: not used (${cgroups.state.why}); processes are stopped by process group`,
  );
  const groupGid = async (key: string, name: string): Promise<number | null> => {
    if (!name) return null;
    const gid = await users.groupId(name);
    if (gid === null) throw invalidArgument(`${key}: group "${name}" does not exist`);
    return gid;
  };
  const adminGid = await groupGid('admin_group', config.admin_group);
  // Hooks about processes of root, of pmond's own user and of admin_group always have room in the
  // queue (admin_group as the group database says at start: its gid as primary, or listed members).
  const admins = new Set(config.admin_group ? await users.groupMembers(config.admin_group) : []);
  // Who is root-like, by uid, gid and name: hooks about their processes always have room, and the
  // HTTP door's keys bound to them act as admin (as root and admin_group do on the socket).
  const privileged = (o: { uid: number; gid: number; user: string }): boolean =>
    o.uid === 0 || o.uid === daemonUid || (adminGid !== null && o.gid === adminGid) || admins.has(o.user);
  const execHooks = new ExecHookRunner(
    {
      paths: hookPaths,
      check: daemonUid === 0 ? (file) => assertRootOnly('hook', file) : undefined,
      timeoutMs: config.hook_timeout * 1000,
      concurrency: config.hook_concurrency,
      maxQueued: 1000,
      payload: config.hook_payload,
      privileged,
    },
    logger,
  );
  // The Go pmon3's field names beside ours in every hook's JSON (internal/hooks/go-fields.ts).
  const bus = new EventBus();
  const goHooks = goFieldsRunner(execHooks, async (id) => {
    const row = await store.get(id);
    if (!row) return undefined;
    const app = await store.getApp(row.app_id);
    const names = (json: string | undefined): string[] => {
      const v: unknown = json ? JSON.parse(json) : [];
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    };
    return { auto_restart: row.auto_restart === 1, dependencies: names(app?.dependencies), groups: names(app?.groups) };
  });
  // Every hook event is also a state event on the HTTP door's /v1/events.
  const hooks = publishingHooks(goHooks, bus);
  // The exec server and its reaper where pidfds work (Linux 5.3+), the one-shot helper elsewhere.
  const serverMode = kernelAtLeast(5, 3);
  const execServer = serverMode ? new ExecServer(execHelperPath(), (why) => logger.warn(why)) : undefined;
  const spawner = new HelperSpawner(
    execHelperPath(),
    (b) => native.memfd(b),
    execServer ? { exec: execServer, reaper: new NativeReaper(native) } : undefined,
    dirIdentities([config.logs_dir, config.data_dir]),
  );
  logger.info(serverMode ? 'processes are started by the exec server' : 'processes are started by the one-shot exec helper (Linux < 5.3: no pidfd)');
  // sd_notify (ready: notify, watchdog): bound once the socket directory exists (after listen);
  // without it those apps cannot start, the rest can.
  const notify = new NativeNotify(native, `${config.socket_path}.notify`);
  const ack = reader ? new AckSocket(`${config.socket_path}.ack`, reader) : undefined;
  // An addon built before procStats existed: pidusage, said once (cpu and memory are still read).
  const procReader = typeof native.procStats === 'function' ? native : undefined;
  if (!procReader) logger.warn('native addon has no procStats (built by an older pmon3): cpu and memory are read with pidusage; make build');
  const supervisor = new Supervisor({
    store,
    spawner,
    hooks,
    users,
    clock: systemClock,
    os: systemOs(procReader),
    logger,
    config,
    daemonUid,
    daemonId,
    bootId: readBootId(),
    cgroups,
    runClaims: new RunClaims(path.join(config.data_dir, 'run-claims'), logger),
    ...(execServer ? { sockets: new SocketHolder(execServer) } : {}),
    notify,
    ...(ack ? { ackSocket: ack } : {}),
    liveDir: `${config.socket_path}.live`,
    ...(execServer ? { logPipes: new LogPipes(execServer) } : {}),
    loggerBin: loggerPath(),
    watchAgent: { script: path.join(__dirname, '..', 'watch', 'agent.js'), socket: config.socket_path },
  });
  const history = new History();
  const admin = { uid: 0, gid: 0, pid: process.pid, admin: true };
  const sampler = new Sampler(history, async () => {
    return allPages((after) => supervisor.table(admin, after));
  }, config.stats_interval * 1000);
  const server = new Server({
    history: { history, intervalMs: config.stats_interval * 1000 },
    events: bus,
    supervisor,
    logger,
    config,
    peerCred: reader,
    logs: new LogReaders(execHelperPath(), (b) => native.memfd(b)),
    daemonUid,
    adminGid,
    socketGid: await groupGid('socket_group', config.socket_group),
    version,
    configuredApps: () => configuredApps(config, daemonUid),
    startedAt: Date.now(),
  });
  try {
    await server.listen();
  } catch (e) {
    await store.close();
    lock.release();
    throw e;
  }
  try {
    notify.start();
  } catch (e) {
    logger.warn(`sd_notify: no socket at ${notify.path} (${(e as Error).message}); apps with ready: notify or watchdog cannot start`);
  }
  await ack?.start().catch((e: Error) => logger.warn(`Firestarter's ack socket: none at ${ack.path} (${e.message}); READY=1 on $NOTIFY_SOCKET still acks`));
  await supervisor.boot(scan);
  sampler.start();
  // Status changes are state events too (with the owner, so each subscriber sees only its own).
  supervisor.subscribe((ch) => {
    if (!bus.size) return;
    void store.get(ch.id).then(
      (row) => row && bus.publishStatus({ id: ch.id, name: ch.name, from: ch.from, to: ch.to, uid: row.uid, user: row.user }),
      () => undefined,
    );
  });
  const door = config.http.listen ? await openDoor({ config, server, bus, users, reader, daemonUid, privileged, logger, version, hooks: execHooks, generation: () => store.generation() }) : undefined;
  // Listening is said once it is so: applying the apps files may wait for dependencies to be up.
  logger.info(`pmond ${version} listening on ${config.socket_path} (pid ${process.pid}, uid ${daemonUid})`);
  if (config.apps.length || config.process_config_file) await applyConfigured(supervisor, config, daemonUid, logger);
  return {
    logger,
    async shutdown(stopChildren) {
      logger.info(`pmond shutting down (${stopChildren ? 'stopping' : 'leaving'} children)`);
      sampler.stop();
      await door?.close();
      await server.close();
      // Queued hooks are dropped (one line); running ones have their hook_timeout, no more.
      hooks.close();
      await supervisor.shutdown(stopChildren);
      await hooks.idle();
      execServer?.close();
      // Its notify socket goes (the next pmond binds it again); the live-check files only with
      // the children (running ones still touch theirs).
      notify.close();
      ack?.close();
      if (stopChildren) fs.rmSync(`${config.socket_path}.live`, { recursive: true, force: true });
      cgroups.cleanup();
      await store.close();
      lock.release();
      await logger.close();
    },
  };
}

