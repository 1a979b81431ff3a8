/**
 * Apps files: declarative app definitions in YAML, JSON or TOML, one or many
 * apps per file, read into validated AppSpecs (issue 12's model; `apply` and
 * pmond's `apps` load paths build on this).
 *
 * Shapes accepted at the top: `apps: [ {...}, ... ]` (TOML: `[[apps]]`), a
 * list of apps, or one app. Every error is one line naming the file, the line
 * and the key (`apps.yaml:4: apps[0].bogus: unknown key`): a file with one
 * error yields nothing. Relative paths (a script, an exec with a "/", cwd,
 * env_file, log, log_dir) resolve against the file's directory; a bare exec
 * name stays bare (looked up in PATH, as the user, when it runs).
 * Durations are seconds as numbers, or strings with a unit: "500ms", "2s", "1m", "1h".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { LineCounter, parseDocument } from 'yaml';
import * as z from 'zod';
import { parseEnvVars, splitArgs } from '../words';
import { invalidArgument } from '../protocol/errors';
import { ENV_NAME_RE, nameSchema, socketSpec, type SocketSpec, type TaskSpec } from '../protocol/methods';
import { parseRlimits, type RlimitInput, type Rlimits } from './rlimits';
import { checkSockets } from './sockets';
import { checkTask } from './task';
import { goAppsOf, isGoProcessConfig } from './goconf';

/** One app, as pmond keeps its definition. Times in ms. */
export interface AppSpec {
  name: string;
  /** A binary (absolute path, or a bare name for PATH), or the interpreter when script is set. */
  exec?: string;
  /** A script run by interpreter (or the interpreter its #! line or extension names). */
  script?: string;
  interpreter?: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  user?: string;
  group?: string;
  groups: string[];
  instances: number;
  dependencies: string[];
  autostart: boolean;
  restart: 'always' | 'on-failure' | 'never';
  restart_delay_ms?: number;
  startsecs_ms?: number;
  /** Consecutive failed starts before `failed`; -1: forever. */
  startretries?: number;
  stop_signal?: string;
  stop_timeout_ms?: number;
  log?: string;
  log_dir?: string;
  /** Kind, schedule, timers, after, its own hooks (absent: a plain daemon). */
  task?: TaskSpec;
  /** Listening sockets for every instance (fds 3...), checked. */
  sockets?: SocketSpec[];
  /** Resource limits for every instance, checked. */
  rlimits?: Rlimits;
  /** Where it was defined. */
  source: { file: string; line: number };
}

export type AppsFormat = 'yaml' | 'json' | 'toml';

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const duration = z.union([
  z.number().nonnegative().max(86_400 * 365),
  z.string().regex(DURATION_RE, 'a duration: seconds, or a number with ms, s, m or h ("500ms", "2s")'),
]);
const toMs = (d: number | string | undefined): number | undefined => {
  if (d === undefined) return undefined;
  if (typeof d === 'number') return Math.round(d * 1000);
  const m = DURATION_RE.exec(d)!;
  return Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
};

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?$/i;
const UNIT_BYTES: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
const size = z.union([z.number().int().positive().max(2 ** 50), z.string().regex(SIZE_RE, 'a size: bytes, or a number with K, M, G or T ("512M", "1.5G")')]);
/** Bytes of a size (K, M, G, T are powers of 1024, as PM2's max_memory_restart reads them). */
const toBytes = (s: number | string): number => {
  if (typeof s === 'number') return s;
  const m = SIZE_RE.exec(s.trim())!;
  return Math.round(Number(m[1]) * UNIT_BYTES[(m[2] ?? '').charAt(0).toUpperCase()]!);
};

const groupName = nameSchema;
/** A command: a list of words, or one string split as a shell would split words (no shell runs it). */
const command = z.union([z.array(z.union([z.string(), z.number()])).min(1).max(256), z.string().min(1).max(128 * 1024)]);
const words = (c: Array<string | number> | string | undefined): string[] | undefined =>
  c === undefined ? undefined : typeof c === 'string' ? splitArgs(c) : c.map(String);
const rawApp = z
  .object({
    name: nameSchema,
    exec: z.string().min(1).max(4096).optional(),
    script: z.string().min(1).max(4096).optional(),
    interpreter: z.string().min(1).max(4096).optional(),
    args: z.union([z.array(z.union([z.string(), z.number()])).max(1024), z.string().max(128 * 1024)]).optional(),
    cwd: z.string().min(1).max(4096).optional(),
    env: z.record(z.string().regex(ENV_NAME_RE, 'environment variable names are letters, digits and _'), z.union([z.string(), z.number(), z.boolean()])).optional(),
    env_file: z.string().min(1).max(4096).optional(),
    user: z.string().min(1).max(64).optional(),
    group: z.string().min(1).max(64).optional(),
    groups: z.array(groupName).max(64).optional(),
    instances: z.number().int().min(1).max(1000).optional(),
    dependencies: z.array(nameSchema).max(256).optional(),
    autostart: z.boolean().optional(),
    restart: z.enum(['always', 'on-failure', 'never']).optional(),
    restart_delay: duration.optional(),
    startsecs: duration.optional(),
    startretries: z.number().int().min(-1).max(1_000_000).optional(),
    stop_signal: z.string().regex(/^(SIG)?[A-Z][A-Z0-9+-]*$/, 'a signal name, e.g. SIGTERM').optional(),
    stop_timeout: duration.optional(),
    log: z.string().min(1).max(4096).optional(),
    log_dir: z.string().min(1).max(4096).optional(),
    type: z.enum(['daemon', 'once', 'cron']).optional(),
    cron: z.string().min(1).max(128).optional(),
    timezone: z.string().min(1).max(64).optional(),
    overlap: z.enum(['skip', 'queue', 'allow']).optional(),
    catch_up: z.enum(['none', 'once']).optional(),
    cron_restart: z.string().min(1).max(128).optional(),
    repeat: z.object({ action: z.enum(['restart', 'start', 'stop', 'trystart']), every: duration }).strict().optional(),
    after: z.array(nameSchema).max(256).optional(),
    exec_stop: command.optional(),
    pre_start: command.optional(),
    post_start: command.optional(),
    pre_stop: command.optional(),
    post_stop: command.optional(),
    hook_timeout: duration.optional(),
    save_log_on_crash: z.boolean().optional(),
    crash_log_kib: z.number().int().min(1).max(1024).optional(),
    sockets: z.array(z.union([z.string().min(1).max(128), socketSpec])).max(16).optional(),
    max_memory: size.optional(),
    rlimits: z.record(z.string().max(16), z.union([z.number(), z.string().max(32), z.tuple([z.union([z.number(), z.string().max(32)]), z.union([z.number(), z.string().max(32)])])])).optional(),
    max_memory_checks: z.number().int().min(1).max(3600).optional(),
    ready: z.string().min(1).max(1100).optional(),
    ready_timeout: duration.optional(),
    ack: z.enum(['timer', 'manual', 'none']).optional(),
    ack_timeout: duration.optional(),
    watchdog: duration.optional(),
    health: z
      .object({ http: z.string().min(1).max(1100), interval: duration.optional(), timeout: duration.optional(), failures: z.number().int().min(1).max(1000).optional() })
      .strict()
      .optional(),
    live_check_timeout: duration.optional(),
    max_surge: z.number().int().min(1).max(1000).optional(),
    upgrader: command.optional(),
    watch: z.union([z.boolean(), z.array(z.string().min(1).max(4096)).max(64)]).optional(),
    ignore_watch: z.array(z.string().min(1).max(256)).max(64).optional(),
    watch_delay: duration.optional(),
    auto_upgrade: z.boolean().optional(),
    stdin: z.boolean().optional(),
    rotate: z
      .union([
        z
          .object({ size: size.optional(), keep: z.number().int().min(1).max(1000).optional(), every: z.string().max(32).optional(), compress: z.boolean().optional(), max_total: size.optional() })
          .strict(),
        z.string().max(64),
      ])
      .optional(),
    timestamps: z.boolean().optional(),
    error_log: z.string().min(1).max(4096).optional(),
    upgrader_timeout: duration.optional(),
    memory_max: size.optional(),
    cpu_max: z.union([z.string().regex(/^(\d{1,5}(\.\d{1,2})?%|max|\d{1,9} \d{4,7})$/, 'a share of one CPU ("50%", "250%"), "QUOTA PERIOD" in microseconds, or max'), z.number().positive().max(100_000)]).optional(),
    pids_max: z.number().int().min(1).max(4_194_304).optional(),
  })
  .strict();
type RawApp = z.infer<typeof rawApp>;

/** The format of a file, by its extension; undefined if it has none of ours. */
export function formatOf(file: string): AppsFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  if (ext === '.json') return 'json';
  if (ext === '.toml') return 'toml';
  return undefined;
}

/** Where a key path is in the text: its line (1-based), or undefined. */
export type Locate = (keyPath: ReadonlyArray<string | number>) => number | undefined;

/** Parse text; data plus a way to find the line of a key path. */
export function load(text: string, file: string, format: AppsFormat): { data: unknown; locate: Locate } {
  if (format === 'toml') {
    let data: unknown;
    try {
      data = parseToml(text);
    } catch (e) {
      const line = e instanceof TomlError ? e.line : undefined;
      throw invalidArgument(`${file}${line ? `:${line}` : ''}: ${(e as Error).message.split('\n')[0]}`);
    }
    return { data, locate: (p) => tomlLine(text, p) };
  }
  if (format === 'json') {
    // JSON.parse is many times faster than the YAML parser (a 1000-app file: ~10 ms against
    // ~250 ms). The lines of apps (paths of length 2 at most) come from one linear scan; a deeper
    // key's line (an error message) from the YAML parser, made only then. Invalid JSON: the YAML
    // parser's message, which has the line.
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return loadYaml(text, file);
    }
    const starts = jsonElementLines(text);
    let deep: Locate | undefined;
    return {
      data,
      locate: (p) => {
        if (p.length <= 2) {
          const line = starts.get(p.join('\u0000'));
          if (line !== undefined) return line;
        }
        deep ??= loadYaml(text, file).locate;
        return deep(p);
      },
    };
  }
  return loadYaml(text, file);
}

/**
 * The line of every value at depth 1 and 2 of a JSON text, by its key path joined with NUL
 * (`apps\u00000` for apps[0]; a key's line is where the key is). One pass over the text.
 */
function jsonElementLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  // A stack of containers: kind, the key or index of the value being read, its path.
  const stack: Array<{ kind: 'o' | 'a'; index: number; key: string | null; path: string[] }> = [];
  let line = 1;
  let expectValue = true;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') {
      line++;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') continue;
    const top = stack[stack.length - 1];
    if (ch === '"') {
      let j = i + 1;
      let str = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') {
          str += text.slice(j, j + 2);
          j += 2;
        } else {
          if (text[j] === '\n') line++;
          str += text[j];
          j++;
        }
      }
      const isKey = top?.kind === 'o' && top.key === null;
      if (isKey) {
        let key = str;
        try {
          key = JSON.parse(`"${str}"`) as string;
        } catch {
          /* kept raw */
        }
        top.key = key;
        if (top.path.length < 2) out.set([...top.path, key].join('\u0000'), line);
      } else if (top?.kind === 'a' && expectValue && top.path.length < 2) {
        out.set([...top.path, String(top.index)].join('\u0000'), line);
      }
      expectValue = false;
      i = j;
      continue;
    }
    if (ch === '{' || ch === '[') {
      const path = !top ? [] : [...top.path, top.kind === 'o' ? (top.key ?? '') : String(top.index)];
      if (top?.kind === 'a' && top.path.length < 2) out.set(path.join('\u0000'), line);
      stack.push({ kind: ch === '{' ? 'o' : 'a', index: 0, key: null, path });
      expectValue = true;
      continue;
    }
    if (ch === '}' || ch === ']') {
      stack.pop();
      expectValue = false;
      continue;
    }
    if (ch === ',') {
      if (top?.kind === 'a') top.index++;
      else if (top) top.key = null;
      expectValue = true;
      continue;
    }
    if (ch === ':') {
      expectValue = true;
      continue;
    }
    // A number, true, false or null.
    if (top?.kind === 'a' && expectValue && top.path.length < 2) out.set([...top.path, String(top.index)].join('\u0000'), line);
    expectValue = false;
    while (i + 1 < text.length && !/[\s,\]}]/.test(text[i + 1]!)) i++;
  }
  return out;
}

function loadYaml(text: string, file: string): { data: unknown; locate: Locate } {
  // JSON is YAML 1.2: one parser for both, with positions.
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err) throw invalidArgument(`${file}:${lc.linePos(err.pos[0]).line}: ${err.message.split('\n')[0]}`);
  const locate: Locate = (p) => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      const parent = n > 0 ? (doc.getIn(p.slice(0, n - 1), true) as { items?: Array<{ key?: { value?: unknown; range?: [number, number, number] } }> } | undefined) : undefined;
      // For a key, the line of the key itself (a missing value has no node).
      const pair = parent?.items?.find((it) => it.key?.value === p[n - 1]);
      if (pair?.key?.range) return lc.linePos(pair.key.range[0]).line;
      if (node?.range) return lc.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return { data: doc.toJS({ maxAliasCount: 100 }), locate };
}

/** TOML has no positions in smol-toml's output: the line of `key =` inside the n-th [[apps]] table (or the top). */
function tomlLine(text: string, p: ReadonlyArray<string | number>): number | undefined {
  const lines = text.split('\n');
  let from = 0;
  let to = lines.length;
  if (typeof p[0] === 'string' && typeof p[1] === 'number') {
    const table = p[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const starts = lines.flatMap((l, i) => (new RegExp(`^\\s*\\[\\[\\s*${table}\\s*\\]\\]`).test(l) ? [i] : []));
    const start = starts[p[1]];
    if (start === undefined) return undefined;
    from = start;
    to = starts[p[1] + 1] ?? lines.length;
    if (p.length === 2) return start + 1;
  }
  const key = [...p].reverse().find((k) => typeof k === 'string');
  if (key === undefined) return from + 1;
  const re = new RegExp(`^\\s*["']?${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*=`);
  for (let i = from; i < to; i++) if (re.test(lines[i]!)) return i + 1;
  return from + 1;
}

const pathText = (p: ReadonlyArray<PropertyKey>): string =>
  p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');

/**
 * The apps of one file's text. `file` is the path (for messages and relative paths); `readFile`
 * reads an env_file (injectable: the CLI reads as the caller).
 */
export function parseApps(text: string, file: string, format: AppsFormat, readFile: (p: string) => string = (p) => fs.readFileSync(p, 'utf8')): AppSpec[] {
  const { data, locate } = load(text, file, format);
  // The Go pmon3's process config (processes: [...]) is read with its own key spellings.
  if (isGoProcessConfig(data)) return goAppsOf(data, locate, file);
  return appsOf(data, locate, file, readFile);
}

/** The apps of a parsed file (data as load gives it; locate finds a key path's line). */
export function appsOf(data: unknown, locate: Locate, file: string, readFile: (p: string) => string = (p) => fs.readFileSync(p, 'utf8')): AppSpec[] {
  const where = (p: ReadonlyArray<string | number>): string => {
    const line = locate(p);
    return `${file}${line ? `:${line}` : ''}`;
  };
  // The apps and the key path of each.
  let list: unknown[];
  let base: Array<string | number>;
  if (Array.isArray(data)) {
    list = data;
    base = [];
  } else if (data && typeof data === 'object' && 'apps' in data) {
    const extra = Object.keys(data).filter((k) => k !== 'apps');
    if (extra.length) throw invalidArgument(`${where([extra[0]!])}: ${extra[0]}: unknown key (a file holds apps: [...] or one app)`);
    const apps = (data as { apps: unknown }).apps;
    if (!Array.isArray(apps)) throw invalidArgument(`${where(['apps'])}: apps: must be a list of apps`);
    list = apps;
    base = ['apps'];
  } else if (data && typeof data === 'object') {
    list = [data];
    base = [];
  } else {
    throw invalidArgument(`${file}: no apps (a file holds apps: [...], a list of apps, or one app)`);
  }
  const dir = path.dirname(path.resolve(file));
  const abs = (p: string): string => path.resolve(dir, p);
  const seen = new Map<string, number>();
  return list.map((raw, i) => {
    const at = Array.isArray(data) || base.length ? [...base, i] : [];
    const r = rawApp.safeParse(raw);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [];
      const p = [...at, ...(issue.path as Array<string | number>), ...keys.slice(0, 1)];
      const what = keys.length ? 'unknown key' : issue.message;
      throw invalidArgument(`${where(p)}: ${pathText(p.length ? p : ['app'])}: ${what}`);
    }
    const a: RawApp = r.data;
    const line = locate(at) ?? 1;
    if ((a.exec === undefined) === (a.script === undefined)) {
      throw invalidArgument(`${file}:${line}: ${a.name}: give exec (a program) or script (run by an interpreter), not ${a.exec ? 'both' : 'neither'}`);
    }
    if (a.interpreter !== undefined && a.script === undefined) throw invalidArgument(`${where([...at, 'interpreter'])}: ${a.name}: interpreter goes with script`);
    const prev = seen.get(a.name);
    if (prev !== undefined) throw invalidArgument(`${file}:${line}: ${a.name}: defined twice (first at line ${prev})`);
    seen.set(a.name, line);
    const env: Record<string, string> = {};
    if (a.env_file !== undefined) {
      let text: string;
      try {
        text = readFile(abs(a.env_file));
      } catch (e) {
        throw invalidArgument(`${where([...at, 'env_file'])}: env_file ${abs(a.env_file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      Object.assign(env, parseEnvFile(text, abs(a.env_file)));
    }
    for (const [k, v] of Object.entries(a.env ?? {})) env[k] = String(v);
    let sockets: SocketSpec[] | undefined;
    try {
      sockets = a.sockets && checkSockets(a.name, a.sockets.map((s) => (typeof s === 'string' ? { listen: s } : s)));
    } catch (e) {
      throw invalidArgument(`${where([...at, 'sockets'])}: ${(e as Error).message}`);
    }
    const task = taskOf(a, (k) => where([...at, k]), abs, sockets);
    let rlimits: Rlimits | undefined;
    try {
      rlimits = a.rlimits && parseRlimits(a.rlimits as Record<string, RlimitInput>);
    } catch (e) {
      throw invalidArgument(`${where([...at, 'rlimits'])}: ${(e as Error).message}`);
    }
    return {
      name: a.name,
      ...(a.exec !== undefined ? { exec: a.exec.includes('/') ? abs(a.exec) : a.exec } : {}),
      ...(a.script !== undefined ? { script: abs(a.script) } : {}),
      ...(a.interpreter !== undefined ? { interpreter: a.interpreter } : {}),
      args: typeof a.args === 'string' ? splitArgs(a.args) : (a.args ?? []).map(String),
      cwd: a.cwd !== undefined ? abs(a.cwd) : dir,
      env,
      ...(a.user !== undefined ? { user: a.user } : {}),
      ...(a.group !== undefined ? { group: a.group } : {}),
      groups: a.groups ?? [],
      instances: a.instances ?? 1,
      dependencies: a.dependencies ?? [],
      autostart: a.autostart ?? true,
      restart: a.restart ?? 'always',
      ...(a.restart_delay !== undefined ? { restart_delay_ms: toMs(a.restart_delay)! } : {}),
      ...(a.startsecs !== undefined ? { startsecs_ms: toMs(a.startsecs)! } : {}),
      ...(a.startretries !== undefined ? { startretries: a.startretries } : {}),
      ...(a.stop_signal !== undefined ? { stop_signal: a.stop_signal.startsWith('SIG') ? a.stop_signal : `SIG${a.stop_signal}` } : {}),
      ...(a.stop_timeout !== undefined ? { stop_timeout_ms: toMs(a.stop_timeout)! } : {}),
      ...(a.log !== undefined ? { log: abs(a.log) } : {}),
      ...(a.log_dir !== undefined ? { log_dir: abs(a.log_dir) } : {}),
      ...(task ? { task } : {}),
      ...(sockets && sockets.length ? { sockets } : {}),
      ...(rlimits && Object.keys(rlimits).length ? { rlimits } : {}),
      source: { file: path.resolve(file), line },
    };
  });
}

/** The task keys of a raw app (durations in ms, commands as words), checked; undefined if it has none. */
function taskOf(a: RawApp, where: (key: string) => string, abs: (p: string) => string, sockets?: SocketSpec[]): TaskSpec | undefined {
  // A command's program with a "/" resolves against the file's directory, as exec does; a bare name stays (PATH, as the user).
  const cmd = (c: Array<string | number> | string | undefined): string[] | undefined => {
    const w = words(c);
    return w && w.length ? [w[0]!.includes('/') ? abs(w[0]!) : w[0]!, ...w.slice(1)] : w;
  };
  const t: TaskSpec = {
    ...(a.type !== undefined ? { type: a.type } : a.cron !== undefined ? { type: 'cron' as const } : {}),
    ...(a.cron !== undefined ? { cron: a.cron } : {}),
    ...(a.timezone !== undefined ? { timezone: a.timezone } : {}),
    ...(a.overlap !== undefined ? { overlap: a.overlap } : {}),
    ...(a.catch_up !== undefined ? { catch_up: a.catch_up } : {}),
    ...(a.cron_restart !== undefined ? { cron_restart: a.cron_restart } : {}),
    ...(a.repeat !== undefined ? { repeat: { action: a.repeat.action, every_ms: toMs(a.repeat.every)! } } : {}),
    ...(a.after !== undefined ? { after: a.after } : {}),
    ...(a.exec_stop !== undefined ? { exec_stop: cmd(a.exec_stop)! } : {}),
    ...(a.pre_start !== undefined ? { pre_start: cmd(a.pre_start)! } : {}),
    ...(a.post_start !== undefined ? { post_start: cmd(a.post_start)! } : {}),
    ...(a.pre_stop !== undefined ? { pre_stop: cmd(a.pre_stop)! } : {}),
    ...(a.post_stop !== undefined ? { post_stop: cmd(a.post_stop)! } : {}),
    ...(a.hook_timeout !== undefined ? { hook_timeout_ms: toMs(a.hook_timeout)! } : {}),
    ...(a.save_log_on_crash !== undefined ? { save_log_on_crash: a.save_log_on_crash } : {}),
    ...(a.crash_log_kib !== undefined ? { crash_log_kib: a.crash_log_kib } : {}),
    ...(a.max_memory !== undefined ? { max_memory_bytes: toBytes(a.max_memory) } : {}),
    ...(a.max_memory_checks !== undefined ? { max_memory_checks: a.max_memory_checks } : {}),
    ...readyKeys(a, where),
    ...(a.watchdog !== undefined ? { watchdog_ms: toMs(a.watchdog)! } : {}),
    ...(a.health !== undefined
      ? {
          health: {
            http: a.health.http,
            ...(a.health.interval !== undefined ? { interval_ms: toMs(a.health.interval)! } : {}),
            ...(a.health.timeout !== undefined ? { timeout_ms: toMs(a.health.timeout)! } : {}),
            ...(a.health.failures !== undefined ? { failures: a.health.failures } : {}),
          },
        }
      : {}),
    ...(a.live_check_timeout !== undefined ? { live_check_ms: toMs(a.live_check_timeout)! } : {}),
    ...(a.max_surge !== undefined ? { max_surge: a.max_surge } : {}),
    ...(a.upgrader !== undefined ? { upgrader: cmd(a.upgrader)! } : {}),
    // watch: true is the app's cwd (PM2's); paths are the file's directory's, like exec's.
    ...(a.watch === true ? { watch: [abs(a.cwd ?? '.')] } : Array.isArray(a.watch) ? { watch: a.watch.map((w) => abs(w)) } : {}),
    ...(a.ignore_watch !== undefined ? { watch_ignore: a.ignore_watch } : {}),
    ...(a.watch_delay !== undefined ? { watch_delay_ms: toMs(a.watch_delay)! } : {}),
    ...(a.auto_upgrade !== undefined ? { auto_upgrade: a.auto_upgrade } : {}),
    ...(a.stdin ? { stdin: true } : {}),
    ...(a.rotate !== undefined ? { log_rotate: rotationOf(a.rotate, where('rotate')) } : {}),
    ...(a.timestamps !== undefined ? { log_timestamps: a.timestamps } : {}),
    ...(a.error_log !== undefined ? { error_log: abs(a.error_log) } : {}),
    ...(a.upgrader_timeout !== undefined ? { upgrader_timeout_ms: toMs(a.upgrader_timeout)! } : {}),
    ...(a.memory_max !== undefined ? { memory_max_bytes: toBytes(a.memory_max) } : {}),
    ...(a.cpu_max !== undefined ? { cpu_max: cpuMax(a.cpu_max) } : {}),
    ...(a.pids_max !== undefined ? { pids_max: a.pids_max } : {}),
  };
  if (Object.keys(t).length === 0) return undefined;
  const bad = checkTask(a.name, t, undefined, sockets);
  if (bad) throw invalidArgument(`${where(bad.key)}: ${a.name}: ${bad.key}: ${bad.message}`);
  return t;
}

/**
 * ready and ready_timeout, or Firestarter's ack and ack_timeout written as them: manual is a
 * READY=1 (notify), timer is staying up ack_timeout (delay:), none is at once. Only a real ack
 * counts: output on the log is not one.
 */
function readyKeys(a: RawApp, where: (key: string) => string): Pick<TaskSpec, 'ready' | 'ready_timeout_ms'> {
  if (a.ack !== undefined && a.ready !== undefined) throw invalidArgument(`${where('ack')}: ${a.name}: ack and ready say the same thing; give one`);
  const timeout = (d: number | string | undefined): Pick<TaskSpec, 'ready_timeout_ms'> => (d !== undefined ? { ready_timeout_ms: toMs(d)! } : {});
  if (a.ack === undefined) {
    if (a.ack_timeout !== undefined) throw invalidArgument(`${where('ack_timeout')}: ${a.name}: ack_timeout goes with ack: timer or manual`);
    return { ...(a.ready !== undefined ? { ready: a.ready } : {}), ...timeout(a.ready_timeout) };
  }
  if (a.ready_timeout !== undefined) throw invalidArgument(`${where('ready_timeout')}: ${a.name}: with ack, the time is ack_timeout`);
  if (a.ack === 'manual') return { ready: 'notify', ...timeout(a.ack_timeout) };
  if (a.ack === 'timer') return { ready: `delay:${toMs(a.ack_timeout ?? '5s')}ms` };
  if (a.ack_timeout !== undefined) throw invalidArgument(`${where('ack_timeout')}: ${a.name}: ack: none waits for nothing`);
  return { ready: 'none' };
}

/** Seconds of a rotation interval: hourly, daily, weekly, or a duration ("6h", "30m"). */
function everyOf(text: string, where: string): number {
  const named: Record<string, number> = { hourly: 3600, daily: 86_400, weekly: 604_800 };
  if (text in named) return named[text]!;
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text);
  if (!m) throw invalidArgument(`${where}: every: ${JSON.stringify(text.slice(0, 32))} is not hourly, daily, weekly or a duration ("6h", "30m")`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * `rotate:` as pmon3 writes it ({size, keep, every, compress, max_total}) or as Firestarter does
 * ("size:BYTES:BACKUPS" or "time:N:S|M|H|D|MIDNIGHT:U|L:BACKUPS"; its trailing :PATH is the log's).
 */
function rotationOf(r: NonNullable<RawApp['rotate']>, where: string): NonNullable<TaskSpec['log_rotate']> {
  if (typeof r === 'string') {
    const p = r.split(':');
    if (p[0] === 'size' && p.length >= 3 && /^\d+$/.test(p[1]!) && /^\d+$/.test(p[2]!)) return { size_bytes: Math.max(4096, Number(p[1])), keep: Math.max(1, Number(p[2])) };
    if (p[0] === 'time' && p.length >= 5 && /^\d+$/.test(p[1]!) && /^\d+$/.test(p[4]!)) {
      const unit = { S: 1, M: 60, H: 3600, D: 86_400, MIDNIGHT: 86_400 }[p[2]!.toUpperCase() as 'S'];
      if (unit !== undefined) return { every_s: Math.max(1, Number(p[1])) * unit, keep: Math.max(1, Number(p[4])) };
    }
    throw invalidArgument(`${where}: ${JSON.stringify(r.slice(0, 64))} is not {size, keep, every, compress, max_total}, "size:BYTES:BACKUPS" or "time:N:S|M|H|D|MIDNIGHT:U|L:BACKUPS"`);
  }
  const out: NonNullable<TaskSpec['log_rotate']> = {
    ...(r.size !== undefined ? { size_bytes: toBytes(r.size) } : {}),
    ...(r.keep !== undefined ? { keep: r.keep } : {}),
    ...(r.every !== undefined ? { every_s: everyOf(r.every, where) } : {}),
    ...(r.compress !== undefined ? { compress: r.compress } : {}),
    ...(r.max_total !== undefined ? { max_total_bytes: toBytes(r.max_total) } : {}),
  };
  if (out.size_bytes !== undefined && out.size_bytes < 4096) throw invalidArgument(`${where}: size: at least 4K`);
  if (out.max_total_bytes !== undefined && out.max_total_bytes < 65536) throw invalidArgument(`${where}: max_total: at least 64K`);
  return out;
}

/** cpu.max of "50%" (of one CPU; 250% is two and a half), a bare number of percent, "QUOTA PERIOD" or max. */
function cpuMax(v: string | number): string {
  if (typeof v === 'number' || v.endsWith('%')) {
    const pct = typeof v === 'number' ? v : Number(v.slice(0, -1));
    return `${Math.max(1000, Math.round(pct * 1000))} 100000`;
  }
  return v === 'max' ? 'max 100000' : v;
}

/** KEY=VALUE lines (# comments, blank lines, optional `export `, values quoted as in our -e). */
export function parseEnvFile(text: string, file: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim().replace(/^export\s+/, '');
    if (l === '' || l.startsWith('#')) return;
    try {
      Object.assign(env, parseEnvVars(l));
    } catch (e) {
      throw invalidArgument(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return env;
}

/** The files of a load path: the file itself, or every *.yaml|*.yml|*.json|*.toml in a directory, sorted. */
export function appsFiles(p: string): string[] {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return [p];
  return fs
    .readdirSync(p)
    .filter((f) => formatOf(f) !== undefined && !f.startsWith('.'))
    .sort()
    .map((f) => path.join(p, f));
}

/** Every app of the files and directories given; a name defined in two files is an error naming both. */
export function loadApps(paths: readonly string[]): AppSpec[] {
  const all: AppSpec[] = [];
  const byName = new Map<string, AppSpec>();
  for (const p of paths) {
    for (const f of appsFiles(p)) {
      const format = formatOf(f) ?? 'yaml';
      for (const a of parseApps(fs.readFileSync(f, 'utf8'), f, format)) {
        const prev = byName.get(a.name);
        if (prev) throw invalidArgument(`${a.source.file}:${a.source.line}: ${a.name}: already defined at ${prev.source.file}:${prev.source.line}`);
        byName.set(a.name, a);
        all.push(a);
      }
    }
  }
  return all;
}
