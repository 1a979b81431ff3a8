/**
 * `exec`: a new app and its instances, checked first (name, user, size, limits, dependencies,
 * groups, log room), then started; nothing is left behind if instance 0 cannot start.
 */
import * as path from 'node:path';
import { type AppDefinition, commandBytes, definitionJson, specHash } from '../apps/model';
import type { UserInfo } from '../process/users';
import { alreadyExists, failedPrecondition, invalidArgument, permissionDenied, PmonError } from '../protocol/errors';
import { nameSchema, type ExecParams, type ProcessView } from '../protocol/methods';
import { NEVER_RAN, type ProcessRow } from '../store/schema';
import { MAX_GROUPS_PER_OWNER } from '../store/store';
import type { Caller, Core } from './deps';
import type { Lifecycle } from './lifecycle';
import type { Logs } from './logs';
import { views } from './views';

export class Exec {
  constructor(
    private readonly c: Core,
    private readonly life: Lifecycle,
    private readonly logs: Logs,
  ) {}

  /** Create a process and start it. Nothing is left behind if it cannot start. */
  async exec(caller: Caller, p: ExecParams): Promise<ProcessView> {
    const { store, config, units } = this.c;
    const name = p.name ?? path.basename(p.file);
    const parsed = nameSchema.safeParse(name);
    if (!parsed.success) {
      throw invalidArgument(`name "${name.slice(0, 80)}": ${parsed.error.issues[0]!.message}${p.name ? '' : ' (use --name)'}`);
    }
    const health = store.health();
    if (!health.ok) throw failedPrecondition(`pmond cannot write its database (${health.error}); it starts no new process until it can`);
    const user = await this.targetUser(caller, p.user);
    const size = commandBytes(p.file, p.args, p.env);
    if (size > config.max_command_bytes) {
      throw invalidArgument(`binary, arguments and environment take ${size} bytes; at most ${config.max_command_bytes} (max_command_bytes)`);
    }
    const all = await store.all();
    const instances = p.instances ?? 1;
    if (!caller.admin) {
      const owned = all.filter((r) => r.uid === user.uid).length;
      if (owned + instances > config.max_processes_per_user) {
        throw failedPrecondition(
          instances === 1
            ? `uid ${user.uid} already has ${owned} processes, the most max_processes_per_user allows`
            : `uid ${user.uid} has ${owned} processes; ${instances} more would pass max_processes_per_user (${config.max_processes_per_user})`,
        );
      }
    }
    const groups = [...new Set(p.groups ?? [])];
    const dependencies = [...new Set(p.dependencies ?? [])];
    const appsOfUser = (await store.apps()).filter((a) => a.uid === user.uid);
    for (const dep of dependencies) {
      if (dep === name) throw invalidArgument(`${name} cannot depend on itself`);
      if (!appsOfUser.some((a) => a.name === dep)) throw invalidArgument(`${name} depends on ${dep}, which is not defined`);
    }
    const newGroups = groups.filter((g) => !store.groups().some((x) => x.uid === user.uid && x.name === g));
    const haveGroups = store.groups().filter((x) => x.uid === user.uid).length;
    if (haveGroups + newGroups.length > MAX_GROUPS_PER_OWNER) {
      throw failedPrecondition(`user "${user.name}" has ${haveGroups} groups; ${newGroups.length} more would pass ${MAX_GROUPS_PER_OWNER}`);
    }
    // Names are unique per owner: nobody can take a name from another user, nor learn that they use it.
    if (all.some((r) => r.uid === user.uid && r.name === name)) {
      throw alreadyExists(user.uid === caller.uid ? `process "${name}" already exists` : `user "${user.name}" already has a process "${name}"`);
    }
    const log = this.logs.logFor(name, user, p);
    if (!caller.admin) await this.logs.assertLogRoom(log);
    const def: AppDefinition = { file: p.file, args: p.args, env: p.env, cwd: p.cwd, log, restart: p.auto_restart ? 'always' : 'never', autostart: true };
    const hash = specHash({ file: p.file, args: p.args, env: p.env, cwd: p.cwd, uid: user.uid, gid: user.gid });
    for (const g of newGroups) store.insertGroup(user.uid, g);
    const app = await store.insertApp({
      name,
      uid: user.uid,
      user: user.name,
      gid: user.gid,
      spec: definitionJson(def),
      spec_hash: hash,
      source: 'exec',
      groups: JSON.stringify(groups),
      dependencies: JSON.stringify(dependencies),
      instances,
    });
    let row: ProcessRow;
    try {
      row = await this.insertInstance(app.id, hash, name, p, user, log);
    } catch (e) {
      await store.removeApp(app.id); // no app without its instance
      throw e;
    }
    return units.locked(row.id, async () => {
      try {
        // A new row is on disk before its first program exists: a pmond killed right after the
        // spawn finds the child by its markers, never a child without a row.
        await store.settled();
        if (!store.saved(row.id)) throw failedPrecondition(`pmond cannot write its database (${store.health().error}); not starting "${name}"`);
        const started = await this.life.startLocked(row, { countRestart: false, hook: 'start', quiet: true });
        // Instance 0 runs: the others join it (one that cannot start stays, failed, as after a crash).
        for (let i = 1; i < instances; i++) {
          const more = await this.insertInstance(app.id, hash, name, p, user, log, i);
          await units.locked(more.id, () =>
            this.life.startLocked(more, { countRestart: false, hook: 'start' }).catch((e: Error) => this.c.logger.warn(`${name}:${i}: ${e.message}`)),
          );
        }
        return (await views(this.c, [started]))[0]!;
      } catch (e) {
        // Nothing left behind: not the row, nor the log made for it (a user could otherwise fill
        // logs_dir with logs of execs that fail).
        await this.logs.removeLogs(row);
        await store.remove(row.id);
        await store.removeApp(app.id);
        units.drop(row.id);
        throw e;
      }
    });
  }

  /** The row of a new app's instance 0, as exec makes it. */
  private insertInstance(appId: number, hash: string, name: string, p: ExecParams, user: UserInfo, log: string, instance = 0): Promise<ProcessRow> {
    return this.c.store.insert({
      app_id: appId,
      instance,
      spec_hash: hash,
      name,
      process_file: p.file,
      args: JSON.stringify(p.args),
      env: JSON.stringify(p.env),
      cwd: p.cwd,
      user: user.name,
      uid: user.uid,
      gid: user.gid,
      status: 'queued',
      desired: 'running',
      auto_restart: p.auto_restart ? 1 : 0,
      log,
      ...NEVER_RAN,
    });
  }

  /** The user a new process runs as, with the authorization rules applied. */
  async targetUser(caller: Caller, spec: string | undefined): Promise<UserInfo> {
    const { daemonUid } = this.c;
    let user: UserInfo;
    try {
      user = await this.c.users.user(spec ?? caller.uid);
    } catch (e) {
      if (e instanceof PmonError && e.code === 'NOT_FOUND') throw invalidArgument(e.message);
      throw e;
    }
    if (user.uid !== caller.uid && !caller.admin) {
      throw permissionDenied(`uid ${caller.uid} may not run processes as user "${user.name}"`);
    }
    if (daemonUid !== 0 && user.uid !== daemonUid) {
      throw failedPrecondition(`pmond runs unprivileged (uid ${daemonUid}) and can only run processes as itself`);
    }
    return user;
  }
}
