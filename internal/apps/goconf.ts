/**
 * The Go pmon3's process config file (its `process_config_file`, PMON3_PROCESS_CONF): JSON,
 * YAML or TOML holding `processes: [...]` (TOML `[[Processes]]`) of its exec flags, read into
 * our AppSpecs. Key spellings as the Go pmon3 writes them in each format (model.ExecFlags):
 *
 *   JSON/YAML      TOML            ours
 *   file           File            exec
 *   name           Name            name
 *   args           Args            args (one string, split by our tokenizer, never a shell)
 *   env_vars       EnvVars         env ("A=1 B=2", as exec -e)
 *   user           User            user
 *   log            Log             log
 *   log_dir        LogDir          log_dir
 *   dependencies   dependencies    dependencies
 *   groups         groups          groups
 *   no_auto_restart NoAutoRestart  restart: never (else always)
 *
 * Empty strings (the Go export writes `args: ""`) are not set. Any other key is an error naming
 * file, line and key, as in our apps files. Relative paths resolve against the file's directory.
 */
import { invalidArgument } from '../protocol/errors';
import { parseEnvVars } from '../words';
import { appsOf, type AppSpec, type AppsFormat, load, type Locate } from './file';

const GO_KEYS: Readonly<Record<string, string>> = {
  file: 'exec',
  File: 'exec',
  name: 'name',
  Name: 'name',
  args: 'args',
  Args: 'args',
  env_vars: 'env',
  EnvVars: 'env',
  user: 'user',
  User: 'user',
  log: 'log',
  Log: 'log',
  log_dir: 'log_dir',
  LogDir: 'log_dir',
  dependencies: 'dependencies',
  Dependencies: 'dependencies',
  groups: 'groups',
  Groups: 'groups',
  no_auto_restart: 'restart',
  NoAutoRestart: 'restart',
};

/** Whether parsed data looks like a Go process config (a processes list at the top). */
export function isGoProcessConfig(data: unknown): boolean {
  return !!data && typeof data === 'object' && !Array.isArray(data) && ('processes' in data || 'Processes' in data);
}

export function parseGoProcessConfig(text: string, file: string, format: AppsFormat): AppSpec[] {
  const { data, locate } = load(text, file, format);
  return goAppsOf(data, locate, file);
}

export function goAppsOf(data: unknown, locate: Locate, file: string): AppSpec[] {
  const where = (p: ReadonlyArray<string | number>): string => {
    const line = locate(p);
    return `${file}${line ? `:${line}` : ''}`;
  };
  if (!isGoProcessConfig(data)) throw invalidArgument(`${file}: not a Go pmon3 process config (no processes: [...] at the top)`);
  const top = data as Record<string, unknown>;
  const key = 'processes' in top ? 'processes' : 'Processes';
  const extra = Object.keys(top).filter((k) => k !== key);
  if (extra.length) throw invalidArgument(`${where([extra[0]!])}: ${extra[0]}: unknown key (a process config holds ${key}: [...])`);
  const list = top[key];
  if (!Array.isArray(list)) throw invalidArgument(`${where([key])}: ${key}: must be a list of processes`);
  // Our key path ['apps', i, ours] → theirs, for lines in messages.
  const back: Array<Record<string, string>> = [];
  const apps = list.map((raw, i) => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalidArgument(`${where([key, i])}: ${key}[${i}]: must be a mapping`);
    const out: Record<string, unknown> = {};
    const names: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const ours = GO_KEYS[k];
      if (ours === undefined) throw invalidArgument(`${where([key, i, k])}: ${key}[${i}].${k}: unknown key`);
      names[ours] = k;
      if (v === '' || v === null || v === undefined) continue;
      if (ours === 'env') {
        if (typeof v !== 'string') throw invalidArgument(`${where([key, i, k])}: ${key}[${i}].${k}: must be a string such as "A=1 B=2"`);
        try {
          out.env = parseEnvVars(v);
        } catch (e) {
          throw invalidArgument(`${where([key, i, k])}: ${key}[${i}].${k}: ${(e as Error).message}`);
        }
      } else if (ours === 'restart') {
        if (typeof v !== 'boolean') throw invalidArgument(`${where([key, i, k])}: ${key}[${i}].${k}: must be true or false`);
        out.restart = v ? 'never' : 'always';
      } else {
        out[ours] = v;
      }
    }
    back.push(names);
    return out;
  });
  const translate: Locate = (p) => {
    if (p[0] !== 'apps' || typeof p[1] !== 'number') return locate(p);
    const i = p[1];
    const rest = p.slice(2).map((k, n) => (n === 0 && typeof k === 'string' ? (back[i]?.[k] ?? k) : k));
    return locate([key, i, ...rest]);
  };
  try {
    return appsOf({ apps }, translate, file);
  } catch (e) {
    // Our key names in a message about their file: say theirs.
    const msg = (e as Error).message.replace(/\bapps\[(\d+)\]\.(\w+)/, (_m, i: string, k: string) => `${key}[${i}].${back[Number(i)]?.[k] ?? k}`);
    throw Object.assign(e as Error, { message: msg });
  }
}
