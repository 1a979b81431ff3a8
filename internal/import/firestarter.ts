/**
 * Firestarter (mopemope/firestarter): one TOML file of worker groups, `[name]` each
 * (src/config.rs WorkerConfig). Meanings from its source:
 *   - exec_start is split by its own tokenizer (parse_cmd): words of plain characters,
 *     "double-quoted" runs (no escapes), `{}`, and `$VAR` expanded from firestarter's own
 *     environment when it loads the file; never a shell. The first version spelled it
 *     `cmd = ["prog", "arg"]`.
 *   - restart defaults to none (no restart): our restart is always written.
 *   - numprocesses (default 1) processes of one worker: our instances.
 *   - environments are "K=V" (split at the first =; a broken entry is skipped, as it does).
 *   - uid/gid are numeric ids: our user/group as ids.
 *   - working_directory (default "./") is relative to firestarter's own directory, not the file's.
 *   - warmup_delay sleeps once before the worker's first start; respawns do not wait. That
 *     is neither our startsecs (time up = started) nor restart_delay (every restart): a warning.
 *   - giveup: consecutive failed spawns before it stops respawning (0: never): our startretries.
 *   - stdout_log/stderr_log are "size:MAX:BACKUPS:PATH" or "time:N:UNIT:TZ:BACKUPS:PATH";
 *     without them the output goes to /dev/null.
 */
import { type Locate } from '../apps/file';
import { type AppEntry, type ImportOptions, type ImportResult } from './types';
import { appName, compact, envOf, fail, Fields, inOrder, isMapping, parseSource, type Source } from './located';

export function detectFirestarter(text: string, file: string): boolean {
  try {
    const src = parseSource(text, file, 'toml');
    const tables = isMapping(src.data) ? Object.values(src.data) : [];
    return tables.length > 0 && tables.every((t) => isMapping(t) && ('exec_start' in t || Array.isArray(t.cmd)));
  } catch {
    return false;
  }
}

export function importFirestarter(file: string, opts: ImportOptions): ImportResult {
  const src = parseSource(opts.read(file), file, 'toml', sectionLocate);
  if (!isMapping(src.data)) fail(src, [], 'expected worker tables ([name])');
  const apps = Object.entries(src.data).map(([name, raw]) => {
    if (!isMapping(raw)) fail(src, [name], `${name}: expected a worker table [${name}], not a value at the top`);
    return worker(src, name, new Fields(src, [name], raw, name));
  });
  return { format: 'firestarter', apps, warnings: inOrder(src.warnings, [file]), files: [file] };
}

function worker(src: Source, name: string, f: Fields): AppEntry {
  appName(src, [name], name, name);
  let argv: string[];
  if (f.has('exec_start')) {
    argv = parseCmd(f, f.str('exec_start')!);
    if (f.has('cmd')) f.warnTaken('cmd', 'the old spelling of exec_start; exec_start is used');
  } else if (f.has('cmd')) {
    argv = f.strList('cmd')!;
  } else {
    fail(src, [name], `${name}: expected exec_start (the command to run)`);
  }
  if (argv.length === 0) f.fail(f.has('exec_start') ? 'exec_start' : 'cmd', 'a command');
  const n = f.int('numprocesses');
  if (n !== undefined && n < 0) f.fail('numprocesses', 'a whole number of processes');
  if (n === 0) f.warn('numprocesses', 'no processes: imported as one instance with autostart: false');
  const restart = f.str('restart');
  const RESTART = { none: 'never', 'on-failure': 'on-failure', always: 'always' } as const;
  if (restart !== undefined && !(restart in RESTART)) f.fail('restart', 'none, on-failure or always');
  const cwd = f.str('working_directory');
  if (cwd !== undefined && !cwd.startsWith('/')) f.warn('working_directory', "relative to firestarter's own working directory there, to this file's directory here");
  const uid = f.int('uid');
  const gid = f.int('gid');
  const giveup = f.int('giveup');
  if (giveup !== undefined) f.warn('giveup', `mapped to startretries: ${giveup === 0 ? -1 : giveup} (firestarter counts failed spawns, pmon3 also runs shorter than startsecs)`);
  const log = logs(f);
  const ack = f.str('ack');
  if (ack !== undefined && ack !== 'timer' && ack !== 'manual' && ack !== 'none') f.fail('ack', 'timer, manual or none');
  const ackTimeout = f.num('ack_timeout');
  const liveCheck = f.num('live_check_timeout');
  const upgraderCmd = f.str('upgrader');
  const upgraderTimeout = f.num('upgrader_timeout');
  const sockets = socketsOf(f);
  if (ack === 'manual') f.warn('ack', "the worker:ack line on $FIRESTARTER_SOCK_PATH acks only the instance that sends it (or READY=1 on $NOTIFY_SOCKET); ctrl's other commands there are not served");
  const entry = compact<AppEntry>({
    name,
    exec: argv[0],
    args: argv.length > 1 ? argv.slice(1) : undefined,
    cwd,
    env: envOf(f.strList('environments') ?? [], (word, why) => f.warn('environments', `${JSON.stringify(word)}: ${why}; skipped (as firestarter does)`)),
    user: uid === undefined ? undefined : String(uid),
    group: gid === undefined ? undefined : String(gid),
    instances: n !== undefined && n > 1 ? n : undefined,
    autostart: n === 0 ? false : undefined,
    restart: RESTART[(restart ?? 'none') as keyof typeof RESTART],
    startretries: giveup === undefined ? undefined : giveup === 0 ? -1 : giveup,
    log: log.log,
    rotate: log.rotate,
    error_log: log.error_log,
    sockets,
    ack: ack as AppEntry['ack'],
    ack_timeout: ackTimeout === undefined || ack === 'none' ? undefined : `${ackTimeout}s`,
    live_check_timeout: liveCheck === undefined ? undefined : `${liveCheck}s`,
    upgrader: upgraderCmd === undefined ? undefined : parseCmd(f, upgraderCmd),
    upgrader_timeout: upgraderTimeout === undefined || upgraderCmd === undefined ? undefined : `${upgraderTimeout}s`,
  });
  f.warnTaken('exec_stop', 'pmon3 stops a process with its stop_signal (SIGTERM), it runs no stop command; ignored');
  f.warnTaken('warmup_delay', 'a delay before the first start only; pmon3 starts at once (not startsecs, not restart_delay); ignored');
  f.warnTaken('start_immediate', 'pmon3 starts at once (it does not wait for a first connection on the sockets); ignored');
  f.warnTaken('ack_signal', 'pmon3 sends no ack signal: the new instance says READY=1, the old one gets its stop_signal; ignored');
  f.warnTaken('environment_base_name', "names the variables of firestarter's sockets (NAME_FD_0...); pmon3 gives them as LISTEN_FDS/LISTEN_FDNAMES (sd_listen_fds); ignored");
  f.warnTaken('control_socket', "firestarter's control socket; pmon3 has one socket for pmond; ignored");
  f.warnTaken('upgrader_active_sec', 'the upgrader runs once per reload (pmon3 reload NAME), not every N seconds; ignored');
  f.warnTaken('auto_upgrade', 'reloading when the binary changes becomes auto_upgrade when pmon3 has it; ignored');
  f.rest();
  return entry;
}

/** socket_address: TCP addresses become sockets; a Unix path is a warning (not supported yet). */
function socketsOf(f: Fields): string[] | undefined {
  const list = f.strList('socket_address');
  if (list === undefined) return undefined;
  const out: string[] = [];
  for (const a of list) {
    if (a.startsWith('/')) f.warn('socket_address', `${a}: Unix socket paths become sockets when pmon3 has them; skipped`);
    else out.push(a.startsWith('tcp:') ? a.slice(4) : a);
  }
  return out.length ? out : undefined;
}

/** The log path of a log spec, its rotation (our rotate: takes Firestarter's strings), and stderr's own file. */
function logs(f: Fields): { log?: string; rotate?: string; error_log?: string } {
  const spec = (k: string): { path: string; rotation: string } | undefined => {
    const s = f.str(k);
    if (s === undefined) return undefined;
    const parts = s.split(':');
    const n = parts[0] === 'size' ? 4 : parts[0] === 'time' ? 6 : 0;
    if (n === 0 || parts.length < n) f.fail(k, '"size:MAX_BYTES:BACKUPS:PATH" or "time:N:S|M|H|D|MIDNIGHT:U|L:BACKUPS:PATH"');
    // A path with a colon: firestarter takes the part up to the next colon only.
    return { path: parts[n - 1]!, rotation: parts.slice(0, n - 1).join(':') };
  };
  const out = spec('stdout_log');
  const err = spec('stderr_log');
  if (err !== undefined && out === undefined) f.warn('stderr_log', 'firestarter sent stdout to /dev/null; pmon3 writes it to this log too');
  if (err && out && err.path !== out.path && err.rotation !== out.rotation) f.warn('stderr_log', `rotated as stdout_log is (${out.rotation}): pmon3 rotates both alike`);
  const main = out ?? err;
  return {
    ...(main ? { log: main.path, rotate: main.rotation } : {}),
    ...(err && out && err.path !== out.path ? { error_log: err.path } : {}),
  };
}

/** Firestarter's parse_cmd: words of plain characters, "quoted" runs, {} and $VAR; anything else is its parse error. */
function parseCmd(f: Fields, cmd: string): string[] {
  const words: string[] = [];
  const vars: string[] = [];
  let i = 0;
  const plain = (c: string): boolean => c > ' ' && c <= '~' && !'"\'><|;{}$'.includes(c);
  while (i < cmd.length) {
    while (i < cmd.length && /\s/.test(cmd[i]!)) i++;
    if (i >= cmd.length) break;
    let word = '';
    let any = false;
    while (i < cmd.length && !/\s/.test(cmd[i]!)) {
      const c = cmd[i]!;
      if (plain(c)) {
        word += c;
        i++;
      } else if (c === '"') {
        const end = cmd.indexOf('"', i + 1);
        if (end < 0) f.fail('exec_start', 'a command (an unterminated " here)');
        word += cmd.slice(i + 1, end);
        i = end + 1;
      } else if (cmd.startsWith('{}', i)) {
        word += '{}';
        i += 2;
      } else if (c === '$' && /[A-Za-z0-9_]/.test(cmd[i + 1] ?? '')) {
        const m = /^[A-Za-z0-9_]+/.exec(cmd.slice(i + 1))![0];
        vars.push(m);
        word += `$${m}`;
        i += 1 + m.length;
      } else {
        f.fail('exec_start', `a command of words, "quoted" words, {} and $VAR (firestarter refuses ${JSON.stringify(c)}; it runs no shell)`);
      }
      any = true;
    }
    if (any) words.push(word);
  }
  for (const v of vars) f.warn('exec_start', `$${v} was expanded from firestarter's environment when it loaded the file; pmon3 runs no shell: kept as the literal $${v}`);
  return words;
}

/** Lines in a file of [name] tables: the header of the table, then `key =` within it. */
function sectionLocate(text: string): Locate {
  const lines = text.split('\n');
  const header = (l: string): string | undefined => /^\s*\[\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9_.-]+))\s*\]/.exec(l)?.slice(1).find((x) => x !== undefined);
  return (p) => {
    if (p.length === 0) return 1;
    const start = lines.findIndex((l) => header(l) === p[0]);
    if (start < 0) {
      // A key at the top, before any table.
      const re = new RegExp(`^\\s*["']?${String(p[0]).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*=`);
      const i = lines.findIndex((l) => re.test(l));
      return i < 0 ? undefined : i + 1;
    }
    if (p.length === 1 || typeof p[1] !== 'string') return start + 1;
    const re = new RegExp(`^\\s*["']?${p[1].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*=`);
    for (let i = start + 1; i < lines.length && header(lines[i]!) === undefined; i++) if (re.test(lines[i]!)) return i + 1;
    return start + 1;
  };
}
