/**
 * The Go pmon3's process config file (`process_config_file`): JSON, YAML or TOML holding
 * `processes: [...]` (TOML `[[Processes]]`) of its exec flags (model.ExecFlags), with each
 * format's spellings (internal/apps/goconf.ts lists them). Read over the raw data, not through
 * goconf, so warnings name the key as the file spells it and an unknown key is a warning, not
 * the error apply makes of it. Meanings as the Go pmond gives them when it runs a process
 * (pmond/process/executor.go, pmond/shell/shell_linux.go):
 *   - args is split on single spaces (strings.Split), not shell-like: kept as our args string
 *     when our split gives the same words, else as the list Go would pass;
 *   - env_vars is split on whitespace (strings.Fields), each word NAME=value taken verbatim;
 *   - it runs in the directory of its file (os.ProcAttr.Dir): our cwd;
 *   - no_auto_restart: true is restart: never; empty strings are unset, as in the Go export.
 */
import * as path from 'node:path';
import { formatOf, type AppsFormat } from '../apps/file';
import { splitArgs } from '../words';
import { type AppEntry, type ImportOptions, type ImportResult } from './types';
import { appName, compact, envOf, Fields, inOrder, fail, isMapping, parseSource, warn } from './located';

/** Spellings of each exec flag: JSON/YAML, then TOML (goconf.ts). */
const KEYS = {
  file: ['file', 'File'],
  name: ['name', 'Name'],
  args: ['args', 'Args'],
  env_vars: ['env_vars', 'EnvVars'],
  user: ['user', 'User'],
  log: ['log', 'Log'],
  log_dir: ['log_dir', 'LogDir'],
  dependencies: ['dependencies', 'Dependencies'],
  groups: ['groups', 'Groups'],
  no_auto_restart: ['no_auto_restart', 'NoAutoRestart'],
} as const;

function formatGuess(text: string, file: string): AppsFormat {
  const f = formatOf(file);
  if (f) return f;
  const t = text.trimStart();
  return t.startsWith('{') || t.startsWith('[') ? 'json' : /^\s*\[\[/m.test(text) ? 'toml' : 'yaml';
}

export function detectPmon3Go(text: string, file: string): boolean {
  try {
    const { data } = parseSource(text, file, formatGuess(text, file));
    return isMapping(data) && (Array.isArray(data.processes) || Array.isArray(data.Processes));
  } catch {
    return false;
  }
}

export function importPmon3Go(file: string, opts: ImportOptions): ImportResult {
  const text = opts.read(file);
  const src = parseSource(text, file, formatGuess(text, file));
  if (!isMapping(src.data)) fail(src, [], 'expected a Go pmon3 process config (processes: [...])');
  const top = src.data;
  const key = 'processes' in top ? 'processes' : 'Processes' in top ? 'Processes' : undefined;
  if (key === undefined) fail(src, [], 'expected a Go pmon3 process config (processes: [...])');
  const list = top[key];
  if (!Array.isArray(list)) fail(src, [key], `${key}: expected a list of processes`);
  for (const k of Object.keys(top)) if (k !== key) warn(src, [k], k, 'not read by the Go pmon3 (a process config holds processes only); ignored');
  const apps = list.map((raw, i) => goApp(Fields.of(src, [key, i], raw, `${key}[${i}]`)));
  return { format: 'pmon3-go', apps, warnings: inOrder(src.warnings, [file]), files: [file] };
}

function goApp(f: Fields): AppEntry {
  // Empty strings are unset (the Go export writes `args: ""`).
  const s = (k: keyof typeof KEYS): string | undefined => {
    const name = KEYS[k].find((n) => n in f.value);
    if (name === undefined) return undefined;
    const v = f.str(name);
    return v === '' ? undefined : v;
  };
  const list = (k: keyof typeof KEYS): string[] | undefined => {
    const name = KEYS[k].find((n) => n in f.value);
    const v = name === undefined ? undefined : f.strList(name);
    return v && v.length ? v : undefined;
  };
  const nameKey = KEYS.name.find((n) => n in f.value) ?? 'name';
  const name = s('name');
  if (name === undefined) f.fail(nameKey, 'a name');
  appName(f.src, [...f.at, nameKey], f.field(nameKey), name);
  const fileKey = KEYS.file.find((n) => n in f.value) ?? 'file';
  const exec = s('file');
  if (exec === undefined) f.fail(fileKey, 'the file to run (file)');
  const envKey = KEYS.env_vars.find((n) => n in f.value);
  const envText = s('env_vars');
  const restartKey = KEYS.no_auto_restart.find((n) => n in f.value);
  const noAuto = restartKey === undefined ? undefined : f.bool(restartKey);
  const entry = compact<AppEntry>({
    name,
    exec,
    args: goArgs(s('args')),
    cwd: goCwd(exec),
    env: envText === undefined ? undefined : goEnv(envText, (word, why) => f.warn(envKey!, `${JSON.stringify(word)}: ${why}; ignored`)),
    user: s('user'),
    groups: list('groups'),
    dependencies: list('dependencies'),
    restart: noAuto ? 'never' : undefined,
    log: s('log'),
    log_dir: s('log_dir'),
  });
  f.rest('not an exec flag of the Go pmon3; ignored');
  return entry;
}

/** The Go pmond's argv after the name: args split on single spaces; our string when it splits the same. */
export function goArgs(args: string | undefined): string[] | string | undefined {
  if (args === undefined || args === '') return undefined;
  const words = args.split(' ');
  let ours: string[] | undefined;
  try {
    ours = splitArgs(args);
  } catch {
    ours = undefined;
  }
  return ours && ours.length === words.length && ours.every((w, i) => w === words[i]) ? args : words;
}

/** The Go pmond runs a process in its file's directory (unset for a bare name). */
export function goCwd(file: string): string | undefined {
  return file.includes('/') ? path.dirname(file) : undefined;
}

/** env_vars as the Go pmond passes them: whitespace-separated NAME=value words, verbatim. */
export function goEnv(text: string, skip: (word: string, why: string) => void): Record<string, string> | undefined {
  return envOf(text.split(/\s+/).filter((w) => w !== ''), skip);
}
