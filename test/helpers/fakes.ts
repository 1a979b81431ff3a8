/**
 * Fakes of the supervisor's interfaces, to drive the real Supervisor without processes, a
 * database or waiting: a Store in memory, a Spawner whose children exit when the test says (or
 * when a fake signal reaches them), a manual Clock, an Os over those children, a HookRunner that
 * records, and a UserResolver over a fixed list.
 */
import * as path from 'node:path';
import type { HookEvent, HookRunner } from '../../internal/hooks/hooks';
import { noCgroups } from '../../internal/process/cgroups';
import type { ExitInfo, SpawnRequest, Spawner, Watched } from '../../internal/process/spawner';
import type { UserInfo, UserResolver } from '../../internal/process/users';
import { alreadyExists, failedPrecondition, notFound } from '../../internal/protocol/errors';
import type { AppPatch, AppRow, GroupRow, NewAppRow, NewProcessRow, ProcessPatch, ProcessRow } from '../../internal/store/schema';
import { MAX_GROUPS_PER_OWNER, type Store, type StoreHealth } from '../../internal/store/store';
import type { Clock } from '../../internal/supervisor/clock';
import type { Os, Usage } from '../../internal/supervisor/os';
import { Supervisor, type SupervisorConfig } from '../../internal/supervisor/supervisor';
import { recordingLogger } from './store';

const iso = (): string => new Date().toISOString();
const copy = <T>(x: T): T => ({ ...x });

/** Store in memory: every write is kept in `writes` (in order), and is "saved" at once. */
export class FakeStore implements Store {
  readonly rows = new Map<number, ProcessRow>();
  readonly appRows = new Map<number, AppRow>();
  readonly groupRows = new Map<number, GroupRow>();
  /** Every process write, in order: what was patched and the row after it. */
  readonly writes: { id: number; patch: ProcessPatch; row: ProcessRow }[] = [];
  private nextId = 1;
  private nextAppId = 1;
  private gen = 0;
  private nextGroupId = 1;

  async all(): Promise<ProcessRow[]> {
    return this.readAll().map(copy);
  }
  readAll(): readonly Readonly<ProcessRow>[] {
    return [...this.rows.values()].sort((a, b) => a.id - b.id);
  }
  readApp(id: number): Readonly<AppRow> | undefined {
    return this.appRows.get(id);
  }
  async get(id: number): Promise<ProcessRow | undefined> {
    const r = this.rows.get(id);
    return r && copy(r);
  }
  async getByName(uid: number, name: string): Promise<ProcessRow | undefined> {
    const app = [...this.appRows.values()].find((a) => a.uid === uid && a.name === name);
    return app ? (await this.instancesOf(app.id))[0] : undefined;
  }
  async findByName(name: string): Promise<ProcessRow[]> {
    return (await this.all()).filter((r) => r.name === name);
  }
  async insert(row: NewProcessRow): Promise<ProcessRow> {
    const id = row.id ?? this.nextId;
    const instance = row.instance ?? 0;
    if (this.rows.has(id) || [...this.rows.values()].some((r) => r.app_id === row.app_id && r.instance === instance)) {
      throw alreadyExists(`process "${row.name}" instance ${instance} already exists`);
    }
    const t = iso();
    const full: ProcessRow = {
      args: '[]',
      env: '{}',
      desired: 'running',
      pid: null,
      pid_start_time: null,
      pid_boot_id: null,
      restarts: 0,
      consecutive_failures: 0,
      auto_restart: 1,
      last_exit_code: null,
      last_signal: null,
      started_at: null,
      stopped_at: null,
      spawn_token: null,
      cgroup: null,
      reason: null,
      spec_hash: null,
      ...(row as Partial<ProcessRow>),
      instance,
      id,
      created_at: row.created_at ?? t,
      updated_at: row.updated_at ?? t,
    } as ProcessRow;
    this.rows.set(id, full);
    this.gen++;
    this.nextId = Math.max(this.nextId, id + 1);
    return copy(full);
  }
  async update(id: number, patch: ProcessPatch): Promise<ProcessRow> {
    const cur = this.rows.get(id);
    if (!cur) throw notFound(`process ${id} not found`);
    const next = { ...cur, ...patch, id, updated_at: iso() } as ProcessRow;
    this.rows.set(id, next);
    this.gen++;
    this.writes.push({ id, patch: { ...patch }, row: copy(next) });
    return copy(next);
  }
  async remove(id: number): Promise<void> {
    this.rows.delete(id);
    this.gen++;
  }
  generation(): number {
    return this.gen;
  }
  saved(): boolean {
    return true;
  }
  async apps(): Promise<AppRow[]> {
    return [...this.appRows.values()].sort((a, b) => a.id - b.id).map(copy);
  }
  async getApp(id: number): Promise<AppRow | undefined> {
    const a = this.appRows.get(id);
    return a && copy(a);
  }
  async getAppByName(uid: number, name: string): Promise<AppRow | undefined> {
    const a = [...this.appRows.values()].find((x) => x.uid === uid && x.name === name);
    return a && copy(a);
  }
  async insertApp(row: NewAppRow): Promise<AppRow> {
    if ([...this.appRows.values()].some((a) => a.uid === row.uid && a.name === row.name)) throw alreadyExists(`app "${row.name}" already exists`);
    const id = row.id ?? this.nextAppId;
    const t = iso();
    const full = { groups: '[]', dependencies: '[]', instances: 1, source: 'exec', next_run_at: null, ...row, id, created_at: row.created_at ?? t, updated_at: row.updated_at ?? t } as AppRow;
    this.appRows.set(id, full);
    this.gen++;
    this.nextAppId = Math.max(this.nextAppId, id + 1);
    return copy(full);
  }
  async updateApp(id: number, patch: AppPatch): Promise<AppRow> {
    const cur = this.appRows.get(id);
    if (!cur) throw notFound(`app ${id} not found`);
    const next = { ...cur, ...patch, id, updated_at: iso() } as AppRow;
    this.appRows.set(id, next);
    this.gen++;
    return copy(next);
  }
  async removeApp(id: number): Promise<void> {
    this.appRows.delete(id);
    this.gen++;
  }
  async instancesOf(appId: number): Promise<ProcessRow[]> {
    return (await this.all()).filter((r) => r.app_id === appId).sort((a, b) => a.instance - b.instance);
  }
  appSaved(): boolean {
    return true;
  }
  groups(): GroupRow[] {
    return [...this.groupRows.values()].sort((a, b) => a.id - b.id).map(copy);
  }
  insertGroup(uid: number, name: string): GroupRow {
    const mine = [...this.groupRows.values()].filter((g) => g.uid === uid);
    if (mine.some((g) => g.name === name)) throw alreadyExists(`group "${name}" already exists`);
    if (mine.length >= MAX_GROUPS_PER_OWNER) throw failedPrecondition(`uid ${uid} has ${mine.length} groups, the most one owner may have`);
    const g: GroupRow = { id: this.nextGroupId++, uid, name, created_at: iso() };
    this.groupRows.set(g.id, g);
    return copy(g);
  }
  removeGroup(id: number): void {
    this.groupRows.delete(id);
  }
  reserveIdsThrough(id: number): void {
    if (Number.isSafeInteger(id) && id >= this.nextId) this.nextId = id + 1;
  }
  health(): StoreHealth {
    return { ok: true, since: null, error: null, pending: 0 };
  }
  async settled(): Promise<void> {}
  async integrityCheck(): Promise<string> {
    return 'ok';
  }
  async close(): Promise<void> {}
}

/** One child of the FakeSpawner. */
export interface FakeChild {
  req: SpawnRequest;
  w: Watched;
  alive: boolean;
  /** The signals it was sent (through FakeOs.signalGroup). */
  signals: NodeJS.Signals[];
  /** End it with info (once; later calls do nothing). */
  exit(info: ExitInfo): void;
}

/** Children that run until the test (or a signal) ends them. */
export class FakeSpawner implements Spawner {
  readonly children: FakeChild[] = [];
  /** The next spawns fail with these errors, one each. */
  readonly failures: Error[] = [];
  /** Whether a signal ends a child (false: it ignores everything but SIGKILL). */
  diesOnSignal = true;
  private nextPid = 1000;

  async spawn(req: SpawnRequest): Promise<Watched> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const pid = this.nextPid++;
    let resolve!: (i: ExitInfo) => void;
    const w: Watched = { pid, startTime: pid * 10, cgroup: req.cgroup, exited: new Promise<ExitInfo>((r) => (resolve = r)) };
    const child: FakeChild = {
      req,
      w,
      alive: true,
      signals: [],
      exit: (info) => {
        if (!child.alive) return;
        child.alive = false;
        resolve(info);
      },
    };
    this.children.push(child);
    return w;
  }

  /** The child of pid, if any. */
  byPid(pid: number): FakeChild | undefined {
    return this.children.find((c) => c.w.pid === pid);
  }

  /** The latest child whose PMON3_PROCESS_NAME is name. */
  last(name: string): FakeChild | undefined {
    return this.children.filter((c) => c.req.env.PMON3_PROCESS_NAME === name).at(-1);
  }
}

/** A Clock that moves only when the test says: advance(ms) fires every timer due by then, in order. */
export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: { at: number; seq: number; fn: () => void }[] = [];

  constructor(start = Date.parse('2024-01-01T00:00:00Z')) {
    this.t = start;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const timer = { at: this.t + ms, seq: this.seq++, fn };
    this.timers.push(timer);
    return { cancel: () => void (this.timers = this.timers.filter((x) => x !== timer)) };
  }
  /** Timers waiting, of at most `within` ms from now (default: all). */
  pending(within = Infinity): number {
    return this.timers.filter((x) => x.at <= this.t + within).length;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}

/**
 * The OS as the FakeSpawner's children: a signal to a group reaches the child of that pid
 * (SIGKILL always ends it; another signal when spawner.diesOnSignal), a child is "the same
 * process" while alive, its group empty once it is not. Time is the wall clock (stops wait
 * on real, short deadlines only when a child ignores its signal).
 */
export class FakeOs implements Os {
  /** Every signal sent, in order. */
  readonly sent: { pgid: number; signal: NodeJS.Signals }[] = [];

  constructor(private readonly spawner: FakeSpawner) {}

  signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
    this.sent.push({ pgid, signal });
    const c = this.spawner.byPid(pgid);
    if (!c?.alive) return false;
    c.signals.push(signal);
    if (signal === 'SIGKILL' || this.spawner.diesOnSignal) c.exit({ code: null, signal });
    return true;
  }
  isSameProcess(pid: number, startTime: number): boolean {
    const c = this.spawner.byPid(pid);
    return !!c && c.alive && c.w.startTime === startTime;
  }
  async usage(pids: number[]): Promise<Record<number, Usage>> {
    return Object.fromEntries(pids.map((p) => [p, { cpu: 0, memory: 1024 }]));
  }
  async waitGroupEmpty(pgid: number, deadline: number): Promise<boolean> {
    while (this.spawner.byPid(pgid)?.alive) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }
  now(): number {
    return Date.now();
  }
  after(ms: number, fn: () => void): { cancel(): void } {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }
}

/** A HookRunner that keeps what it was asked to fire. */
export class RecordingHooks implements HookRunner {
  readonly fired: { event: HookEvent; payload: Record<string, unknown> }[] = [];
  fire(event: HookEvent, payload: Record<string, unknown>): void {
    this.fired.push({ event, payload });
  }
  /** The events fired about process name, in order. */
  of(name: string): HookEvent[] {
    return this.fired.filter((f) => f.payload.name === name).map((f) => f.event);
  }
  async idle(): Promise<void> {}
  close(): void {}
}

/** Users from a fixed list (by name or uid); NOT_FOUND for any other. */
export class FakeUsers implements UserResolver {
  constructor(readonly users: UserInfo[] = [{ name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh', groups: [0] }]) {}
  async user(spec: string | number): Promise<UserInfo> {
    const u = this.users.find((x) => x.uid === spec || x.name === spec || String(x.uid) === spec);
    if (!u) throw notFound(`user "${spec}" does not exist`);
    return { ...u };
  }
  async groupId(name: string): Promise<number | null> {
    return this.users.find((u) => u.name === name)?.gid ?? null;
  }
}

/** A real Supervisor on fakes, with the defaults of the config, logs and data in dir (parts: a store, clock or spawner to share, as a pmond started again would). */
export function fakeSupervisor(dir: string, over: Partial<SupervisorConfig> = {}, parts: { store?: FakeStore; clock?: FakeClock; spawner?: FakeSpawner } = {}) {
  const store = parts.store ?? new FakeStore();
  const spawner = parts.spawner ?? new FakeSpawner();
  const clock = parts.clock ?? new FakeClock();
  const os = new FakeOs(spawner);
  const hooks = new RecordingHooks();
  const logger = recordingLogger();
  const config: SupervisorConfig = {
    logs_dir: path.join(dir, 'logs'),
    data_dir: path.join(dir, 'data'),
    stop_timeout: 10,
    stop_signal: 'SIGTERM',
    restart_backoff_initial: 100,
    restart_backoff_max: 30_000,
    restart_stable_after: 10_000,
    process_monitor_interval: 500,
    flap_detection: { is_enabled: false, threshold_restarted: 5, threshold_countdown: 120, threshold_decrement: 60 },
    max_processes_per_user: 256,
    max_command_bytes: 256 * 1024,
    ...over,
  };
  const sup = new Supervisor({
    store,
    spawner,
    hooks,
    users: new FakeUsers(),
    clock,
    os,
    logger,
    config,
    daemonUid: 0,
    daemonId: 'test-daemon',
    bootId: 'test-boot',
    cgroups: noCgroups('tests'),
  });
  return { sup, store, spawner, clock, os, hooks, logger, config };
}
