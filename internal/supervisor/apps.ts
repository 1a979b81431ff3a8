/**
 * Declarative apps: `apply` (the table converged on apps files), groups and `dgraph`.
 *
 * apply is all or nothing up to the point where processes are touched: every app is checked first
 * (its user and group, the caller's right to run as them, its command's size, its log, the
 * owner's process limit, dependencies that exist and make no cycle). One error and nothing
 * changes. Then, per owner, in dependency order: removed apps (--prune) are stopped and deleted
 * (dependents first), changed apps are updated — only those whose executed part changed are
 * restarted —, instances are added or removed, and the new ones started, each after its
 * dependencies are up (running for their startsecs).
 */
import { dependencyLevels, dependencyOrder, startOrder } from '../apps/graph';
import { diffApps, type AppChange, type DiffApp } from '../apps/diff';
import { checkWithin, hardLimits, parseRlimits, type Rlimits } from '../apps/rlimits';
import { checkSockets, MAX_SOCKETS_PER_USER, privilegedPorts } from '../apps/sockets';
import { DEFAULT_READY_TIMEOUT_MS } from '../apps/ready';
import { checkTask } from '../apps/task';
import type { ZoneCache } from '../schedule/cron';
import { type AppDefinition, commandBytes, definitionJson, MAX_INSTANCES, parseDefinition, specHash, stringList } from '../apps/model';
import type { Logger } from '../logger/logger';
import type { SupervisorEvent } from '../process/status';
import type { UserInfo, UserResolver } from '../process/users';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, permissionDenied } from '../protocol/errors';
import { nameSchema, type AppSpecWire, type AppView, type GroupView, type Params, type Result } from '../protocol/methods';
import { type AppRow, type GroupRow, NEVER_RAN, type ProcessPatch, type ProcessRow } from '../store/schema';
import { MAX_GROUPS_PER_OWNER, type Store } from '../store/store';
import type { Clock } from './clock';
import type { Caller, SupervisorConfig } from './deps';

/** What apps needs of the supervisor: its locks, its lifecycle and its rules for users and logs. */
export interface AppsHost {
  /** The one row a selector names, as the caller may see it. */
  find(caller: Caller, target: string): Promise<ProcessRow>;
  /** Every row a selector names, as the caller may see them. */
  select(caller: Caller, target: string): Promise<ProcessRow[]>;
  /** fn under row id's lock. */
  locked<T>(id: number, fn: () => Promise<T>): Promise<T>;
  /** Stop (if needed) and delete a row; takes the lock itself. */
  deleteRow(id: number, force: boolean): Promise<void>;
  /** Restart a row (the caller holds its lock). */
  restartLocked(id: number, count: boolean): Promise<ProcessRow>;
  /** Stop a row's process to start it again (status restarting, still desired running); the caller holds its lock. */
  stopForRestartLocked(id: number): Promise<ProcessRow>;
  /** Start a queued or stopped row (the caller holds its lock); a cron app's is armed instead. */
  startLocked(row: ProcessRow): Promise<ProcessRow>;
  /** Start queued rows of an app with `after` once what they come after has finished (in the background). */
  startAfter(rows: readonly ProcessRow[]): void;
  /** row's status after event, with patch (the caller holds its lock): the supervisor's one way to change a status. */
  setStatus(row: ProcessRow, event: SupervisorEvent, patch: Omit<ProcessPatch, 'status'>): Promise<ProcessRow>;
  /** The user a new process runs as, the authorization rules applied. */
  targetUser(caller: Caller, spec: string | undefined): Promise<UserInfo>;
  /** A new process's log file (never inside pmond's own directories). */
  logFor(name: string, user: UserInfo, p: { log?: string; log_dir?: string }): string;
  /** Whether a rolling reload of app id is under way (scale and apply wait for it: refused). */
  reloading(appId: number): boolean;
  /** pmond's own /proc/self/limits (what anyone but an admin may give an app at most); '' if unreadable. */
  ownLimits(): string;
}

export interface AppsDeps {
  store: Store;
  users: UserResolver;
  clock: Clock;
  logger: Logger;
  config: SupervisorConfig;
  daemonUid: number;
  host: AppsHost;
}

/** One app of the files, checked and resolved. */
interface Planned {
  spec: AppSpecWire;
  user: UserInfo;
  gid: number;
  def: AppDefinition;
  hash: string;
  current?: AppRow;
}

/** How long a dependent waits for its dependencies to be up (beyond their startsecs). */
const READY_GRACE_MS = 30_000;

/** How long an app may take to be up: its startsecs, or its ready check's timeout. */
function readyWaitMs(def: AppDefinition): number {
  const t = def.task;
  if (t?.ready !== undefined && t.ready !== 'none') return t.ready_timeout_ms ?? DEFAULT_READY_TIMEOUT_MS;
  return def.startsecs_ms ?? 0;
}

/** The file an apps-file source names ("file:/etc/apps.yaml:3" → "/etc/apps.yaml"), or null. */
export function sourceFile(source: string): string | null {
  const m = /^file:(.*):\d+$/.exec(source);
  return m ? m[1]! : null;
}

export class Apps {
  constructor(private readonly d: AppsDeps) {}

  async apply(caller: Caller, p: Params<'apply'>): Promise<Result<'apply'>> {
    const { store, config } = this.d;
    const health = store.health();
    if (!p.dry_run && !health.ok) throw failedPrecondition(`pmond cannot write its database (${health.error}); it changes no app until it can`);
    const planned: Planned[] = [];
    const seen = new Map<string, string>();
    const zones: ZoneCache = new Map();
    for (const s of p.apps) {
      const user = await this.d.host.targetUser(caller, s.user).catch((e: Error) => {
        throw Object.assign(e, { message: `${s.source}: ${s.name}: ${e.message}` });
      });
      const key = `${user.uid}/${s.name}`;
      const prev = seen.get(key);
      if (prev) throw invalidArgument(`${s.source}: ${s.name}: already defined at ${prev}`);
      seen.set(key, s.source);
      const gid = await this.gidFor(caller, user, s);
      const badTask = s.task && checkTask(s.name, s.task, zones, s.sockets);
      if (badTask) throw invalidArgument(`${s.source}: ${s.name}: ${badTask.key}: ${badTask.message}`);
      let sockets: AppDefinition['sockets'];
      try {
        sockets = s.sockets?.length ? checkSockets(s.name, s.sockets) : undefined;
      } catch (e) {
        throw invalidArgument(`${s.source}: ${s.name}: ${(e as Error).message}`);
      }
      // A root pmond binds what it is asked: a port below 1024 only for an admin (else any user
      // could take 22, 53 or 80 the moment its service is down).
      const low = sockets ? privilegedPorts(sockets) : [];
      if (low.length && !caller.admin) throw permissionDenied(`${s.source}: ${s.name}: port ${low[0]} is below 1024: only an admin may give it to an app`);
      let rlimits: Rlimits | undefined;
      if (s.rlimits && Object.keys(s.rlimits).length) {
        const wire = s.rlimits as Record<string, { soft: number; hard: number }>;
        try {
          rlimits = parseRlimits(Object.fromEntries(Object.entries(wire).map(([k, v]) => [k, [v.soft, v.hard] as [number, number]])));
          // The helper sets them as root: anyone but an admin stays within pmond's own hard limits.
          if (!caller.admin) checkWithin(rlimits, hardLimits(this.d.host.ownLimits()));
        } catch (e) {
          throw Object.assign(e as Error, { message: `${s.source}: ${s.name}: ${(e as Error).message}` });
        }
      }
      const size = commandBytes(s.file, s.args, s.env);
      if (size > config.max_command_bytes) {
        throw invalidArgument(`${s.source}: ${s.name}: binary, arguments and environment take ${size} bytes; at most ${config.max_command_bytes} (max_command_bytes)`);
      }
      let log: string;
      try {
        // The log pmond would choose anyway (an export names it, the Go pmon3's always does) is no choice of the user's.
        const own = this.d.host.logFor(s.name, user, {});
        const chosen = s.log !== undefined && s.log !== own ? { log: s.log } : {};
        log = this.d.host.logFor(s.name, user, { ...chosen, ...(s.log_dir !== undefined ? { log_dir: s.log_dir } : {}) });
        // error_log is the user's choice as a log is: never inside pmond's own directories, and its logger runs as the user.
        if (s.task?.error_log !== undefined) {
          this.d.host.logFor(s.name, user, { log: s.task.error_log });
          if (s.task.error_log === log) throw new Error(`error_log ${s.task.error_log} is the log itself; leave it out to have stderr there`);
        }
      } catch (e) {
        throw invalidArgument(`${s.source}: ${s.name}: ${(e as Error).message}`);
      }
      const def: AppDefinition = parseDefinition(
        JSON.stringify({
          file: s.file,
          args: s.args,
          env: s.env,
          cwd: s.cwd,
          log,
          ...(s.log_dir !== undefined ? { log_dir: s.log_dir } : {}),
          restart: s.restart,
          autostart: s.autostart,
          restart_delay_ms: s.restart_delay_ms,
          startsecs_ms: s.startsecs_ms,
          startretries: s.startretries,
          stop_signal: s.stop_signal,
          stop_timeout_ms: s.stop_timeout_ms,
          task: s.task,
          sockets,
          rlimits,
        }),
      );
      const hash = specHash({ file: s.file, args: s.args, env: s.env, cwd: s.cwd, uid: user.uid, gid, ...(sockets ? { sockets } : {}), ...(rlimits ? { rlimits } : {}) });
      planned.push({ spec: s, user, gid, def, hash, current: await store.getAppByName(user.uid, s.name) });
    }
    // Apps an earlier apply took from these files that they no longer define: --prune removes them.
    const files = new Set(p.files);
    const apps = await store.apps();
    const stale = apps.filter((a) => (caller.admin || a.uid === caller.uid) && !seen.has(`${a.uid}/${a.name}`) && files.has(sourceFile(a.source) ?? ''));
    const gone = new Set(p.prune ? stale.map((a) => a.id) : []);
    // Each owner's sockets after the apply: bounded (the exec server holds them for everyone).
    for (const uid of new Set(planned.map((x) => x.user.uid))) {
      const counts = new Map<string, number>();
      for (const a of apps) if (a.uid === uid && !gone.has(a.id)) counts.set(a.name, parseDefinition(a.spec).sockets?.length ?? 0);
      for (const x of planned) if (x.user.uid === uid) counts.set(x.spec.name, x.def.sockets?.length ?? 0);
      const total = [...counts.values()].reduce((n, c) => n + c, 0);
      if (total > MAX_SOCKETS_PER_USER) throw invalidArgument(`${planned.find((x) => x.user.uid === uid)!.user.name}'s apps would have ${total} listening sockets; at most ${MAX_SOCKETS_PER_USER} per user`);
    }
    // Each owner's apps after the apply: dependencies exist (same owner) and make no cycle.
    for (const uid of new Set(planned.map((x) => x.user.uid))) {
      const nodes = new Map<string, { name: string; dependencies: string[] }>();
      // `after` orders starts as dependencies do: it too must name apps that exist and make no cycle.
      for (const a of apps) if (a.uid === uid && !gone.has(a.id)) nodes.set(a.name, { name: a.name, dependencies: [...stringList(a.dependencies), ...(parseDefinition(a.spec).task?.after ?? [])] });
      for (const x of planned) if (x.user.uid === uid) nodes.set(x.spec.name, { name: x.spec.name, dependencies: [...x.spec.dependencies, ...(x.spec.task?.after ?? [])] });
      // An app this apply leaves as it is may name one deleted since (`del` of its dependency):
      // that is not this apply's error; the apps it defines must name apps that exist.
      const mine = new Set(planned.filter((x) => x.user.uid === uid).map((x) => x.spec.name));
      for (const n of nodes.values()) if (!mine.has(n.name)) n.dependencies = n.dependencies.filter((d) => nodes.has(d));
      try {
        startOrder([...nodes.values()]);
      } catch (e) {
        throw invalidArgument(`apps of ${planned.find((x) => x.user.uid === uid)!.user.name}: ${(e as Error).message}`);
      }
    }
    if (!caller.admin) {
      const rows = await store.all();
      const mine = (uid: number): number => {
        let n = rows.filter((r) => r.uid === uid && !gone.has(r.app_id)).length;
        for (const x of planned) if (x.user.uid === uid) n += x.spec.instances - (x.current ? rows.filter((r) => r.app_id === x.current!.id).length : 0);
        return n;
      };
      const n = mine(caller.uid);
      if (n > config.max_processes_per_user) throw failedPrecondition(`these apps would give uid ${caller.uid} ${n} processes, more than max_processes_per_user (${config.max_processes_per_user})`);
    }
    // Groups the apps join that their owners lack yet: within MAX_GROUPS_PER_OWNER, checked before any change.
    const groupRows = store.groups();
    for (const uid of new Set(planned.map((x) => x.user.uid))) {
      const have = new Set(groupRows.filter((g) => g.uid === uid).map((g) => g.name));
      const more = new Set(planned.filter((x) => x.user.uid === uid).flatMap((x) => x.spec.groups.filter((g) => !have.has(g))));
      if (have.size + more.size > MAX_GROUPS_PER_OWNER) {
        throw failedPrecondition(`these apps would give ${planned.find((x) => x.user.uid === uid)!.user.name} ${have.size + more.size} groups, more than ${MAX_GROUPS_PER_OWNER}`);
      }
    }
    const label = (uid: number, user: string, name: string): string => (uid === caller.uid ? name : `${user}/${name}`);
    const fromRow = (a: AppRow): DiffApp => ({
      name: label(a.uid, a.user, a.name),
      hash: a.spec_hash,
      instances: a.instances,
      fields: { ...parseDefinition(a.spec), user: a.user, gid: a.gid, groups: stringList(a.groups), dependencies: stringList(a.dependencies) },
    });
    const nameOf = (x: Planned): string => label(x.user.uid, x.user.name, x.spec.name);
    const fromPlan = (x: Planned): DiffApp => ({
      name: nameOf(x),
      hash: x.hash,
      instances: x.spec.instances,
      fields: { ...x.def, user: x.user.name, gid: x.gid, groups: x.spec.groups, dependencies: x.spec.dependencies },
    });
    // An app whose stored definition is this one, string for string, is unchanged without a field
    // by field diff (an unchanged 1000-app file costs little); the others go through diffApps.
    const sameAsStored = (x: Planned): boolean => {
      const a = x.current;
      return (
        !!a &&
        a.spec_hash === x.hash &&
        a.spec === definitionJson(x.def) &&
        a.instances === x.spec.instances &&
        a.gid === x.gid &&
        a.user === x.user.name &&
        a.groups === JSON.stringify(x.spec.groups) &&
        a.dependencies === JSON.stringify(x.spec.dependencies)
      );
    };
    const quick = planned.filter(sameAsStored);
    const quickSet = new Set(quick);
    const rest = planned.filter((x) => !quickSet.has(x));
    const diff = diffApps([...rest.flatMap((x) => (x.current ? [fromRow(x.current)] : [])), ...stale.map(fromRow)], rest.map(fromPlan), { prune: p.prune });
    for (const x of quick) diff.changes.push({ name: nameOf(x), kind: 'unchanged', fields: [], restart: false, instances: { from: x.spec.instances, to: x.spec.instances } });
    diff.counts.unchanged += quick.length;
    diff.changes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const userOf = new Map<string, string>([...planned.map((x) => [nameOf(x), x.user.name] as const), ...stale.map((a) => [fromRow(a).name, a.user] as const)]);
    const result = { changes: diff.changes.map((c) => ({ ...c, user: userOf.get(c.name) ?? '' })), counts: diff.counts };
    if (p.dry_run) return result;
    const busy = [...planned.flatMap((x) => (x.current ? [x.current] : [])), ...stale.filter((a) => gone.has(a.id))].find((a) => this.d.host.reloading(a.id));
    if (busy) throw failedPrecondition(`${busy.name} is being reloaded; apply once the reload is done (nothing changed)`);

    const byName = new Map(diff.changes.map((c) => [c.name, c]));
    // Removed first, dependents before what they depend on.
    for (const a of stale.filter((x) => gone.has(x.id)).sort((x, y) => stopRank(stale, x) - stopRank(stale, y))) {
      for (const r of await store.instancesOf(a.id)) await this.d.host.deleteRow(r.id, false);
    }
    const toStart: ProcessRow[] = [];
    for (const x of planned) {
      const c = byName.get(nameOf(x))!;
      if (c.kind === 'unchanged') {
        // Where it is defined may move (lines added above it): kept current, nothing else.
        if (x.current && x.current.source !== `file:${x.spec.source}`) await store.updateApp(x.current.id, { source: `file:${x.spec.source}` });
        continue;
      }
      this.ensureGroups(x.user.uid, x.spec.groups);
      const fields = {
        uid: x.user.uid,
        user: x.user.name,
        gid: x.gid,
        spec: definitionJson(x.def),
        spec_hash: x.hash,
        groups: JSON.stringify(x.spec.groups),
        dependencies: JSON.stringify(x.spec.dependencies),
        instances: x.spec.instances,
        source: `file:${x.spec.source}`,
      };
      const app = x.current ? await store.updateApp(x.current.id, fields) : await store.insertApp({ name: x.spec.name, ...fields });
      toStart.push(...(await this.converge(app, x, c)));
    }
    await store.settled();
    await this.startInOrder(toStart);
    return result;
  }

  /** Make app's instances what x says; returns the rows to start (new instances of an autostart app). */
  private async converge(app: AppRow, x: Planned, c: AppChange): Promise<ProcessRow[]> {
    const { store, host } = this.d;
    const rows = await store.instancesOf(app.id);
    for (const r of rows.filter((r) => r.instance >= x.spec.instances)) await this.d.host.deleteRow(r.id, false);
    const executed = {
      process_file: x.spec.file,
      args: JSON.stringify(x.spec.args),
      env: JSON.stringify(x.spec.env),
      cwd: x.spec.cwd,
      user: x.user.name,
      uid: x.user.uid,
      gid: x.gid,
      log: x.def.log!,
      auto_restart: x.spec.restart === 'never' ? 0 : 1,
    };
    const restarted: ProcessRow[] = [];
    for (const r of rows.filter((r) => r.instance < x.spec.instances)) {
      await host.locked(r.id, async () => {
        const cur = await store.get(r.id);
        if (!cur) return;
        if (!c.restart) {
          await store.update(cur.id, { auto_restart: executed.auto_restart });
          return;
        }
        const next = await store.update(cur.id, { ...executed, spec_hash: x.hash });
        // Stopped now, started again with the new ones: in dependency order, once dependencies are up.
        if (next.desired === 'running') restarted.push(await host.stopForRestartLocked(next.id));
      });
    }
    const have = new Set(rows.map((r) => r.instance));
    const fresh: ProcessRow[] = [];
    for (let i = 0; i < x.spec.instances; i++) {
      if (have.has(i)) continue;
      fresh.push(
        await store.insert({
          app_id: app.id,
          instance: i,
          spec_hash: x.hash,
          name: app.name,
          ...executed,
          status: x.spec.autostart ? 'queued' : 'stopped',
          desired: x.spec.autostart ? 'running' : 'stopped',
          ...NEVER_RAN,
        }),
      );
    }
    return [...restarted, ...(x.spec.autostart ? fresh : [])];
  }

  /** Start rows app by app in dependency order, each app once its dependencies are up. */
  private async startInOrder(rows: ProcessRow[]): Promise<void> {
    const { store, host } = this.d;
    const byApp = new Map<number, ProcessRow[]>();
    for (const r of rows) byApp.set(r.app_id, [...(byApp.get(r.app_id) ?? []), r]);
    const apps = await store.apps();
    const owners = new Set(rows.map((r) => r.uid));
    const startApp = async (app: AppRow, mine: Map<string, AppRow>): Promise<void> => {
      // Meproc's after: started in the background once what it comes after has finished (apply does not wait for that).
      if ((parseDefinition(app.spec).task?.after ?? []).length > 0) {
        host.startAfter(byApp.get(app.id)!);
        return;
      }
      const deps = stringList(app.dependencies).flatMap((dn) => mine.get(dn) ?? []);
      const ready = await this.waitReady(deps);
      await Promise.all(
        byApp.get(app.id)!.map((r) =>
          host.locked(r.id, async () => {
            const cur = await store.get(r.id);
            if (!cur || (cur.status !== 'queued' && cur.status !== 'restarting') || cur.desired !== 'running') return;
            if (ready !== true) {
              await host.setStatus(cur, 'stop', { desired: 'stopped', reason: `not started: ${ready}` });
              this.d.logger.warn(`${cur.name}: not started: ${ready}`);
              return;
            }
            await host.startLocked(cur).catch((e: Error) => this.d.logger.warn(`${cur.name}: ${e.message}`));
          }),
        ),
      );
    };
    // Level by level (dependencyLevels: what depends on nothing first); the apps of one level at
    // once, each once its dependencies (all of lower levels) are up.
    await Promise.all(
      [...owners].map(async (uid) => {
        const mine = new Map(apps.filter((a) => a.uid === uid).map((a) => [a.name, a]));
        const level = dependencyLevels([...mine.values()].map((a) => ({ name: a.name, dependencies: [...stringList(a.dependencies), ...(parseDefinition(a.spec).task?.after ?? [])] })));
        const starting = [...mine.values()].filter((a) => byApp.has(a.id));
        for (const depth of [...new Set(starting.map((a) => level.get(a.name) ?? 0))].sort((x, y) => x - y)) {
          await Promise.all(starting.filter((a) => (level.get(a.name) ?? 0) === depth).map((a) => startApp(a, mine)));
        }
      }),
    );
  }

  /** true once every instance of every dep runs and has run for its startsecs; else why not, at the deadline. */
  private async waitReady(deps: AppRow[]): Promise<true | string> {
    if (deps.length === 0) return true;
    const { store, clock } = this.d;
    // A dependency with a ready check is `starting` until ready: its ready timeout is waited for too.
    const need = Math.max(0, ...deps.map((a) => readyWaitMs(parseDefinition(a.spec))));
    const deadline = clock.now() + need + READY_GRACE_MS;
    for (;;) {
      let why: string | null = null;
      for (const a of deps) {
        const startsecs = parseDefinition(a.spec).startsecs_ms ?? 0;
        const rows = await store.instancesOf(a.id);
        const bad = rows.find((r) => r.status !== 'running' || !r.started_at || clock.now() - Date.parse(r.started_at) < startsecs);
        if (rows.length === 0 || bad) {
          why = `dependency ${a.name} is ${bad ? bad.status : 'without instances'}`;
          if (bad && (bad.status === 'failed' || bad.status === 'stopped')) return why;
          break;
        }
      }
      if (why === null) return true;
      if (clock.now() > deadline) return `${why} after ${Math.round((need + READY_GRACE_MS) / 1000)} s`;
      await new Promise<void>((r) => clock.setTimeout(r, 50));
    }
  }

  /** The gid an app runs as: its group (one its user is in, unless an admin asks), else the user's primary group. */
  private async gidFor(caller: Caller, user: UserInfo, s: AppSpecWire): Promise<number> {
    if (s.group === undefined) return user.gid;
    const gid = /^\d+$/.test(s.group) ? Number(s.group) : await this.d.users.groupId(s.group);
    if (gid === null) throw invalidArgument(`${s.source}: ${s.name}: group "${s.group}" does not exist`);
    if (!caller.admin && gid !== user.gid && !user.groups.includes(gid)) {
      throw permissionDenied(`${s.source}: ${s.name}: user "${user.name}" is not in group "${s.group}"`);
    }
    return gid;
  }

  /** Every group name apps of uid list has its row (made as needed). */
  private ensureGroups(uid: number, names: readonly string[]): void {
    const have = new Set(this.d.store.groups().filter((g) => g.uid === uid).map((g) => g.name));
    for (const n of names) if (!have.has(n)) this.d.store.insertGroup(uid, n);
  }

  /**
   * `restart NAME` with the Go pmon3's flags: the app's args, user, log, autorestart or
   * dependencies changed (checked as apply checks them), then each of its instances restarted.
   * Returns the rows.
   */
  async restartWith(caller: Caller, target: string, count: boolean, ch: NonNullable<Params<'restart'>['changes']>): Promise<ProcessRow[]> {
    const { store, host, config } = this.d;
    const rows = await host.select(caller, target);
    const ids = [...new Set(rows.map((r) => r.app_id))];
    if (ids.length !== 1) throw invalidArgument(`restart with changes: "${target}" must name one app`);
    const app = (await store.getApp(ids[0]!))!;
    const def = parseDefinition(app.spec);
    const oldUser = await this.d.users.user(app.uid);
    const user = ch.user !== undefined ? await host.targetUser(caller, ch.user) : oldUser;
    const gid = ch.user !== undefined ? user.gid : app.gid;
    const args = ch.args ?? def.args;
    const size = commandBytes(def.file, args, def.env);
    if (size > config.max_command_bytes) throw invalidArgument(`binary, arguments and environment take ${size} bytes; at most ${config.max_command_bytes} (max_command_bytes)`);
    const wasDefault = rows[0]!.log === host.logFor(app.name, oldUser, {});
    const log =
      ch.log !== undefined || ch.log_dir !== undefined
        ? host.logFor(app.name, user, { ...(ch.log !== undefined ? { log: ch.log } : {}), ...(ch.log_dir !== undefined ? { log_dir: ch.log_dir } : {}) })
        : wasDefault
          ? host.logFor(app.name, user, {})
          : rows[0]!.log;
    let dependencies = stringList(app.dependencies);
    if (ch.dependencies !== undefined) {
      const mine = (await store.apps()).filter((a) => a.uid === app.uid);
      const names = new Set(mine.map((a) => a.name));
      // Others' dependencies on an app deleted since are not this change's error (as in apply).
      const nodes = mine.map((a) => ({ name: a.name, dependencies: a.id === app.id ? ch.dependencies! : stringList(a.dependencies).filter((d) => names.has(d)) }));
      try {
        startOrder(nodes);
      } catch (e) {
        throw invalidArgument((e as Error).message);
      }
      dependencies = [...new Set(ch.dependencies)];
    }
    const next: AppDefinition = { ...def, args, log, ...(ch.auto_restart === false ? { restart: 'never' as const } : {}) };
    const hash = specHash({ file: def.file, args, env: def.env, cwd: def.cwd, uid: user.uid, gid, ...(def.sockets ? { sockets: def.sockets } : {}), ...(def.rlimits ? { rlimits: def.rlimits } : {}) });
    await store.updateApp(app.id, { uid: user.uid, user: user.name, gid, spec: definitionJson(next), spec_hash: hash, dependencies: JSON.stringify(dependencies) });
    const out: ProcessRow[] = [];
    for (const r of await store.instancesOf(app.id)) {
      out.push(
        await host.locked(r.id, async () => {
          const cur = await store.get(r.id);
          if (!cur) return r;
          await store.update(cur.id, {
            args: JSON.stringify(args),
            uid: user.uid,
            user: user.name,
            gid,
            log,
            spec_hash: hash,
            ...(ch.auto_restart === false ? { auto_restart: 0 } : {}),
          });
          return host.restartLocked(cur.id, count);
        }),
      );
    }
    return out;
  }

  /** `init`: the caller's stopped or failed rows (configOnly: of apps from files) queued, then started in dependency order. */
  async init(caller: Caller, configOnly: boolean): Promise<ProcessRow[]> {
    const { store, host } = this.d;
    const apps = new Map((await store.apps()).map((a) => [a.id, a]));
    const rows = (await store.all()).filter(
      (r) => (caller.admin || r.uid === caller.uid) && (r.status === 'stopped' || r.status === 'failed') && (!configOnly || sourceFile(apps.get(r.app_id)?.source ?? '') !== null),
    );
    const queued: ProcessRow[] = [];
    for (const r of rows) {
      const q = await host.locked(r.id, async () => {
        const cur = await store.get(r.id);
        if (!cur || (cur.status !== 'stopped' && cur.status !== 'failed')) return undefined;
        return host.setStatus(cur, 'enqueue', { desired: 'running', reason: null });
      });
      if (q) queued.push(q);
    }
    await this.startInOrder(queued);
    return (await Promise.all(queued.map((r) => store.get(r.id)))).filter((r): r is ProcessRow => r !== undefined);
  }

  /** `scale`: an app's instances made `count` (or more/fewer by it); returns the rows it has then. */
  async scale(caller: Caller, p: Params<'scale'>): Promise<ProcessRow[]> {
    const { store, host, config } = this.d;
    const rows = await host.select(caller, p.target);
    const ids = [...new Set(rows.map((r) => r.app_id))];
    if (ids.length !== 1 || p.target.startsWith('@') || p.target === 'all') throw invalidArgument(`scale: "${p.target}" must name one app (NAME or USER/NAME)`);
    const app = (await store.getApp(ids[0]!))!;
    if (host.reloading(app.id)) throw failedPrecondition(`scale: ${app.name} is being reloaded; scale it once the reload is done`);
    const have = await store.instancesOf(app.id);
    const n = p.relative ? have.length + p.count : p.count;
    if (n < 1 || n > MAX_INSTANCES) throw invalidArgument(`scale: ${app.name} would have ${n} instances; 1 to ${MAX_INSTANCES} (stop or del it to have none)`);
    if (!caller.admin) {
      const owned = (await store.all()).filter((r) => r.uid === app.uid).length;
      if (owned - have.length + n > config.max_processes_per_user) {
        throw failedPrecondition(`${n} instances would give uid ${app.uid} ${owned - have.length + n} processes, more than max_processes_per_user (${config.max_processes_per_user})`);
      }
    }
    for (const r of have.filter((r) => r.instance >= n).sort((a, b) => b.instance - a.instance)) await host.deleteRow(r.id, false);
    const template = have.find((r) => r.instance === 0) ?? have[0]!;
    const taken = new Set(have.map((r) => r.instance));
    const fresh: ProcessRow[] = [];
    for (let i = 0; i < n; i++) {
      if (taken.has(i)) continue;
      fresh.push(
        await store.insert({
          app_id: app.id,
          instance: i,
          spec_hash: template.spec_hash,
          name: app.name,
          process_file: template.process_file,
          args: template.args,
          env: template.env,
          cwd: template.cwd,
          user: template.user,
          uid: template.uid,
          gid: template.gid,
          log: template.log,
          auto_restart: template.auto_restart,
          status: 'queued',
          desired: 'running',
          ...NEVER_RAN,
        }),
      );
    }
    await store.updateApp(app.id, { instances: n });
    await store.settled();
    for (const r of fresh) {
      await host.locked(r.id, async () => {
        const cur = await store.get(r.id);
        if (cur?.status === 'queued') await host.startLocked(cur).catch((e: Error) => this.d.logger.warn(`${cur.name}:${cur.instance}: ${e.message}`));
      });
    }
    return store.instancesOf(app.id);
  }

  /** `apps`: the apps the caller may see, with definitions and instances (export reads them). */
  async list(caller: Caller): Promise<Result<'apps'>> {
    const { store } = this.d;
    const rows = await store.all();
    const out: AppView[] = [];
    for (const a of (await store.apps()).filter((x) => caller.admin || x.uid === caller.uid).sort((x, y) => x.id - y.id)) {
      const user = await this.d.users.user(a.uid).catch(() => null);
      const spec = parseDefinition(a.spec);
      // The log pmond chose (not the user): left out, so an apply elsewhere chooses again.
      let chosen: string | undefined;
      try {
        chosen = user ? this.d.host.logFor(a.name, user, {}) : undefined;
      } catch {
        chosen = undefined;
      }
      if (spec.log !== undefined && spec.log === chosen && spec.log_dir === undefined) delete spec.log;
      out.push({
        id: a.id,
        name: a.name,
        user: a.user,
        uid: a.uid,
        gid: a.gid,
        user_gid: user?.gid ?? null,
        spec,
        groups: stringList(a.groups),
        dependencies: stringList(a.dependencies),
        instances: a.instances,
        source: a.source,
        created_at: a.created_at,
        processes: rows
          .filter((r) => r.app_id === a.id)
          .sort((x, y) => x.instance - y.instance)
          .map((r) => ({ id: r.id, instance: r.instance, status: r.status, pid: r.pid, log: r.log, auto_restart: r.auto_restart === 1 })),
      });
    }
    return { apps: out };
  }

  /** The Go pmon3's `dgraph` over the caller's apps (config_only: those from apps files). */
  async dgraph(caller: Caller, configOnly: boolean): Promise<Result<'dgraph'>> {
    const apps = (await this.d.store.apps()).filter((a) => a.uid === caller.uid && (!configOnly || sourceFile(a.source) !== null));
    const names = new Set(apps.map((a) => a.name));
    return dependencyOrder(apps.map((a) => ({ name: a.name, dependencies: stringList(a.dependencies).filter((d) => names.has(d)) })));
  }

  /** The Go pmon3's group commands (create, del, ls, desc, assign, remove). */
  async group(caller: Caller, p: Params<'group'>): Promise<Result<'group'>> {
    const { store } = this.d;
    const view = async (g: GroupRow): Promise<GroupView> => {
      const apps = (await store.apps()).filter((a) => a.uid === g.uid && stringList(a.groups).includes(g.name));
      const user = (await this.d.users.user(g.uid).catch(() => null))?.name ?? String(g.uid);
      return { id: g.id, name: g.name, user, uid: g.uid, apps: apps.map((a) => a.name).sort() };
    };
    const visible = (): GroupRow[] => store.groups().filter((g) => caller.admin || g.uid === caller.uid);
    const findGroup = (t: string): GroupRow => {
      const mine = visible();
      const g = /^\d+$/.test(t) ? mine.find((x) => x.id === Number(t)) : (mine.find((x) => x.uid === caller.uid && x.name === t) ?? onlyOne(mine.filter((x) => x.name === t), t));
      if (!g) throw notFound(`group "${t}" not found`);
      return g;
    };
    switch (p.action) {
      case 'ls':
        return { groups: await Promise.all(visible().map(view)) };
      case 'create': {
        const name = p.groups[0] ?? '';
        const parsed = nameSchema.safeParse(name);
        if (!parsed.success) throw invalidArgument(`group name "${name.slice(0, 80)}": ${parsed.error.issues[0]!.message}`);
        if (store.groups().some((g) => g.uid === caller.uid && g.name === name)) throw alreadyExists(`group "${name}" already exists`);
        return { groups: [await view(store.insertGroup(caller.uid, name))] };
      }
      case 'desc':
        return { groups: [await view(findGroup(p.groups[0] ?? ''))] };
      case 'del': {
        const g = findGroup(p.groups[0] ?? '');
        const v = await view(g);
        for (const a of await store.apps()) {
          const gs = stringList(a.groups);
          if (a.uid === g.uid && gs.includes(g.name)) await store.updateApp(a.id, { groups: JSON.stringify(gs.filter((n) => n !== g.name)) });
        }
        store.removeGroup(g.id);
        return { groups: [{ ...v, apps: [] }] };
      }
      case 'assign':
      case 'remove': {
        const groups = p.groups.map(findGroup);
        const rows = await Promise.all(p.targets.map((t) => this.d.host.find(caller, t)));
        const appIds = [...new Set(rows.map((r) => r.app_id))];
        for (const id of appIds) {
          const a = (await store.getApp(id))!;
          let gs = stringList(a.groups);
          for (const g of groups) {
            if (g.uid !== a.uid) throw invalidArgument(`group "${g.name}" is ${g.uid === caller.uid ? 'yours' : `uid ${g.uid}'s`} and "${a.name}" is ${a.user}'s: an app joins its owner's groups only`);
            gs = p.action === 'assign' ? [...new Set([...gs, g.name])] : gs.filter((n) => n !== g.name);
          }
          if (gs.length > 64) throw failedPrecondition(`"${a.name}" would be in ${gs.length} groups, at most 64`);
          await store.updateApp(a.id, { groups: JSON.stringify(gs) });
        }
        return { groups: await Promise.all(groups.map(view)) };
      }
    }
  }
}

/** The one group of that name among several owners', or an error naming them. */
function onlyOne(gs: GroupRow[], t: string): GroupRow | undefined {
  if (gs.length > 1) throw invalidArgument(`"${t}" names groups of several users (uids ${gs.map((g) => g.uid).join(', ')}); say which by id`);
  return gs[0];
}

/** Rank for removing: an app after the apps (of the same set) that depend on it. */
function stopRank(apps: AppRow[], a: AppRow): number {
  const order = startOrder(
    apps.map((x) => ({ name: `${x.uid}/${x.name}`, dependencies: stringList(x.dependencies).map((d) => `${x.uid}/${d}`).filter((d) => apps.some((y) => `${y.uid}/${y.name}` === d)) })),
  );
  return order.length - order.indexOf(`${a.uid}/${a.name}`);
}
