/**
 * The app model: an app's stored definition (the `spec` column), its hash,
 * and how an apps-file AppSpec or an `exec` becomes one. Pure: no I/O.
 *
 * The hash covers only what is executed (binary, args, cwd, env, the uid and
 * gid it runs as): a change to any of these restarts the app's instances on
 * `apply`; a change to policy (restart, delays, stop signal), groups or
 * dependencies is taken without a restart (fib-runner's rule).
 */
import { createHash } from 'node:crypto';
import type { SocketSpec, TaskSpec } from '../protocol/methods';
import type { Rlimits } from './rlimits';

/** The most instances one app may have. */
export const MAX_INSTANCES = 1000;

export type RestartMode = 'always' | 'on-failure' | 'never';

/** What the `spec` column of an app holds. Times in ms; absent: the config's default. */
export interface AppDefinition {
  /** An absolute path, or a bare name looked up in PATH as the user. */
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** The log file chosen (absolute), or absent: <logs_dir>/... */
  log?: string;
  log_dir?: string;
  restart: RestartMode;
  autostart: boolean;
  restart_delay_ms?: number;
  /** How long an instance must stay up to count as started (readiness for its dependents). */
  startsecs_ms?: number;
  /** Failed starts in a row before giving up; -1: never give up. */
  startretries?: number;
  stop_signal?: string;
  stop_timeout_ms?: number;
  /** Kind (daemon, once, cron), schedule, timers, after, its own hooks; absent: a plain daemon. */
  task?: TaskSpec;
  /** Listening sockets every instance gets as fds 3... (absent: none). In the hash: a change restarts. */
  sockets?: SocketSpec[];
  /** Resource limits of every instance (soft, hard; -1 unlimited). In the hash: a change restarts. */
  rlimits?: Rlimits;
}

/** An app's kind: its task's type, else daemon. */
export function appType(d: AppDefinition | undefined): 'daemon' | 'once' | 'cron' {
  return d?.task?.type ?? 'daemon';
}

/** The executed part of a definition, as the hash sees it. */
export interface Executed {
  file: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  uid: number;
  gid: number;
  /** Listening sockets ("HOST:PORT" each): none leaves the hash as it was before sockets existed. */
  sockets?: readonly SocketSpec[];
  /** Resource limits: none leaves the hash as it was. */
  rlimits?: Rlimits;
}

/** sha256 (hex, 16 chars) of what is executed, over a canonical JSON (env keys sorted). */
export function specHash(e: Executed): string {
  const env = Object.keys(e.env)
    .sort()
    .map((k) => [k, e.env[k]]);
  // Tagged extras, only when present: a definition without them hashes as before they existed.
  const extras: unknown[] = [];
  // A mode (Unix sockets) is in the hash only when set: the hashes of existing apps stay.
  if (e.sockets?.length) extras.push(['sockets', e.sockets.map((s) => (s.mode !== undefined ? [s.listen, s.name ?? '', s.backlog ?? 0, s.mode] : [s.listen, s.name ?? '', s.backlog ?? 0]))]);
  if (e.rlimits && Object.keys(e.rlimits).length) {
    const r = e.rlimits;
    extras.push(['rlimits', (Object.keys(r) as Array<keyof Rlimits>).sort().map((k) => [k, r[k]!.soft, r[k]!.hard])]);
  }
  const text = JSON.stringify([e.file, e.args, env, e.cwd, e.uid, e.gid, ...extras]);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Parse a stored spec column; a row from an older pmond may lack fields added later. */
export function parseDefinition(json: string): AppDefinition {
  const d = JSON.parse(json) as Partial<AppDefinition>;
  return {
    file: d.file ?? '',
    args: d.args ?? [],
    env: d.env ?? {},
    cwd: d.cwd ?? '/',
    ...(d.log !== undefined ? { log: d.log } : {}),
    ...(d.log_dir !== undefined ? { log_dir: d.log_dir } : {}),
    restart: d.restart ?? 'always',
    autostart: d.autostart ?? true,
    ...(d.restart_delay_ms !== undefined ? { restart_delay_ms: d.restart_delay_ms } : {}),
    ...(d.startsecs_ms !== undefined ? { startsecs_ms: d.startsecs_ms } : {}),
    ...(d.startretries !== undefined ? { startretries: d.startretries } : {}),
    ...(d.stop_signal !== undefined ? { stop_signal: d.stop_signal } : {}),
    ...(d.stop_timeout_ms !== undefined ? { stop_timeout_ms: d.stop_timeout_ms } : {}),
    ...(d.task !== undefined && Object.keys(d.task).length > 0 ? { task: sortedTask(d.task) } : {}),
    ...(Array.isArray(d.sockets) && d.sockets.length > 0
      ? { sockets: d.sockets.map((s) => ({ listen: s.listen, ...(s.name !== undefined ? { name: s.name } : {}), ...(s.backlog !== undefined ? { backlog: s.backlog } : {}), ...(s.mode !== undefined ? { mode: s.mode } : {}) })) }
      : {}),
    ...(d.rlimits && typeof d.rlimits === 'object' && Object.keys(d.rlimits).length > 0 ? { rlimits: sortedLimits(d.rlimits) } : {}),
  };
}

/** Limits with their names in one order. */
function sortedLimits(r: Rlimits): Rlimits {
  return Object.fromEntries(
    Object.keys(r)
      .sort()
      .map((k) => [k, { soft: r[k as keyof Rlimits]!.soft, hard: r[k as keyof Rlimits]!.hard }]),
  ) as Rlimits;
}

/** A task with its keys in one order (so equal tasks are equal strings). */
function sortedTask(t: TaskSpec): TaskSpec {
  return Object.fromEntries(
    Object.keys(t)
      .sort()
      .filter((k) => (t as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, (t as Record<string, unknown>)[k]]),
  ) as TaskSpec;
}

/** A stored spec column's definition, or undefined if it cannot be read (one unreadable row is no reason to fail the rest). */
export function readDefinition(json: string): AppDefinition | undefined {
  try {
    return parseDefinition(json);
  } catch {
    return undefined;
  }
}

/** A definition as stored: fields in one order (so equal definitions are equal strings). */
export function definitionJson(d: AppDefinition): string {
  return JSON.stringify(parseDefinition(JSON.stringify(d)));
}

/** The name an instance is shown and selected by: `name` alone for a single-instance app's instance 0, else `name:N`. */
export function instanceName(app: string, instance: number, instances: number): string {
  return instances === 1 && instance === 0 ? app : `${app}:${instance}`;
}

/** Bytes a process's command takes in execve: binary, arguments and environment, with their NULs. */
export function commandBytes(file: string, args: readonly string[], env: Readonly<Record<string, string>>): number {
  let n = Buffer.byteLength(file) + 1;
  for (const a of args) n += Buffer.byteLength(a) + 1;
  for (const [k, v] of Object.entries(env)) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 2;
  return n;
}

/** A stored JSON list of names (an app's groups or dependencies column): [] if unreadable. */
export function stringList(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
