/**
 * supervisord's configuration (INI: [program:x], [group:x], [include], ...) into our apps
 * file's entries, as supervisord documents it (supervisord.org/configuration.html):
 * - Comments start a line with `;` or `#`, or follow whitespace with ` ;`; an indented line
 *   continues the value above; keys are `key = value` (or `key: value`).
 * - `%(name)s` expands program_name, process_num, group_name, numprocs, here (the directory of
 *   the file the section is in), host_node_name and ENV_X (from opts.environ, the caller's
 *   environment, as supervisord takes its own); `%%` is a literal %. An unknown name is an error.
 * - [include] files = GLOB ... relative to the including file's directory; includes may include
 *   (at most 10 deep), a file included twice along one path (a cycle) is an error.
 * - autorestart's default is `unexpected` (our on-failure): an app without it gets on-failure.
 * Every other key is mapped or is a warning naming file, line and key. A malformed line is one
 * INVALID_ARGUMENT error, "FILE:LINE: what was expected".
 */
import * as path from 'node:path';
import { invalidArgument } from '../protocol/errors';
import { ENV_NAME_RE, NAME_RE } from '../protocol/methods';
import { splitArgs } from '../words';
import { readAs } from './pm2';
import type { AppEntry, ImportOptions, ImportResult, ImportSource, ImportWarning } from './types';

/** supervisord's options: the values its expansions read. */
export interface SupervisordOptions extends ImportOptions {
  /** For %(ENV_X)s: the caller's environment (the CLI passes process.env). */
  environ?: Readonly<Record<string, string | undefined>>;
  /** For %(host_node_name)s. */
  hostname?: string;
}

interface Value {
  value: string;
  line: number;
}
interface Section {
  /** `program:web`. */
  name: string;
  file: string;
  line: number;
  keys: Map<string, Value>;
}

const MAX_DEPTH = 10;

/** One file's sections, its includes read in place (depth-first, in order). */
function parseIni(text: string, file: string): Section[] {
  const out: Section[] = [];
  let cur: Section | undefined;
  let last: Value | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const l = raw.replace(/\r$/, '');
    if (/^\s*$/.test(l) || /^[;#]/.test(l)) {
      last = undefined;
      return;
    }
    // A continuation: an indented line after a key.
    if (/^\s/.test(l) && last && !/^\s*[;#]/.test(l)) {
      last.value += `\n${stripComment(l.trim())}`;
      return;
    }
    if (/^\s*[;#]/.test(l)) return;
    const sec = /^\s*\[([^\]]+)\]\s*(?:[;#].*)?$/.exec(l);
    if (sec) {
      cur = { name: sec[1]!.trim(), file, line, keys: new Map() };
      out.push(cur);
      last = undefined;
      return;
    }
    if (!cur) throw invalidArgument(`${file}:${line}: a [section] header expected before "${l.trim().slice(0, 60)}"`);
    const kv = /^\s*([^=:\s][^=:]*?)\s*[=:]\s*(.*)$/.exec(l);
    if (!kv) throw invalidArgument(`${file}:${line}: key = value expected, not "${l.trim().slice(0, 60)}"`);
    const key = kv[1]!.toLowerCase();
    if (cur.keys.has(key)) throw invalidArgument(`${file}:${line}: [${cur.name}] ${key}: given twice (first at line ${cur.keys.get(key)!.line})`);
    last = { value: stripComment(kv[2]!), line };
    cur.keys.set(key, last);
  });
  return out;
}

/** An inline comment: `;` after whitespace (supervisord's rule; `#` stays). */
function stripComment(v: string): string {
  return v.replace(/\s+;.*$/, '').trim();
}

/** fnmatch-like: * ? [..] in one path component. */
function globRe(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Every section of file and what it includes; files read, in order. */
function readAll(file: string, opts: ImportOptions, stack: string[], files: string[]): Section[] {
  const text = readAs(opts, file);
  files.push(file);
  const out: Section[] = [];
  for (const s of parseIni(text, file)) {
    out.push(s);
    if (s.name !== 'include') continue;
    const v = s.keys.get('files');
    if (!v) throw invalidArgument(`${file}:${s.line}: [include]: files = GLOB ... expected`);
    const dir = path.dirname(file);
    for (const g of v.value.split(/\s+/).filter(Boolean)) {
      const abs = path.resolve(dir, g);
      const gdir = path.dirname(abs);
      const re = globRe(path.basename(abs));
      let names: string[];
      try {
        names = /[*?[]/.test(path.basename(abs)) ? opts.list(gdir).filter((n) => re.test(n)).sort() : [path.basename(abs)];
      } catch (e) {
        throw invalidArgument(`${file}:${v.line}: [include] ${g}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      for (const n of names) {
        const inc = path.join(gdir, n);
        if ([...stack, file].includes(inc)) throw invalidArgument(`${file}:${v.line}: [include] ${g}: ${inc} includes itself (${[...stack, file, inc].map((f) => path.basename(f)).join(' -> ')})`);
        if (stack.length + 1 >= MAX_DEPTH) throw invalidArgument(`${file}:${v.line}: [include] ${g}: includes nested more than ${MAX_DEPTH} deep`);
        out.push(...readAll(inc, opts, [...stack, file], files));
      }
    }
  }
  return out;
}

/** Whether text looks like supervisord's configuration. */
export function detectSupervisord(text: string, _file: string): boolean {
  return /^\s*\[(program|group|supervisord|include|eventlistener|fcgi-program):?[^\]]*\]/m.test(text);
}

/** `KEY="val",KEY2=val2` (supervisord's environment). */
function parseEnvironment(v: Value, file: string, field: string): Record<string, string> {
  const env: Record<string, string> = {};
  const s = v.value.replace(/\n/g, ',');
  let i = 0;
  const fail = (what: string): never => {
    throw invalidArgument(`${file}:${v.line}: ${field}: ${what}`);
  };
  while (i < s.length) {
    while (i < s.length && /[\s,]/.test(s[i]!)) i++;
    if (i >= s.length) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) fail(`KEY=value expected at "${s.slice(i, i + 40)}"`);
    const key = s.slice(i, eq).trim();
    if (!ENV_NAME_RE.test(key)) fail(`"${key.slice(0, 60)}": a variable name (letters, digits, _) expected`);
    i = eq + 1;
    let val = '';
    const q = s[i];
    if (q === '"' || q === "'") {
      const end = s.indexOf(q, i + 1);
      if (end < 0) fail(`unterminated ${q === '"' ? 'double' : 'single'} quote in ${key}`);
      val = s.slice(i + 1, end);
      i = end + 1;
      while (i < s.length && /\s/.test(s[i]!)) i++;
      if (i < s.length && s[i] !== ',') fail(`"," expected after the quoted value of ${key}`);
    } else {
      const end = s.indexOf(',', i);
      val = (end < 0 ? s.slice(i) : s.slice(i, end)).trim();
      i = end < 0 ? s.length : end;
    }
    env[key] = val;
  }
  return env;
}

/** Sections that configure supervisord itself, not an app. */
const DAEMON_SECTIONS = /^(supervisord|unix_http_server|inet_http_server|supervisorctl|rpcinterface:.*)$/;

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** Keys with a specific message; any other unknown key: "no equivalent; ignored". */
const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  priority: 'pmon3 orders starts by dependencies (add dependencies:); priority ignored',
  umask: 'no equivalent (the process keeps pmond\'s umask); ignored',
  serverurl: 'no equivalent (pmon3 has no supervisorctl URL); ignored',
  exitcodes: 'no equivalent: on-failure restarts on any exit but a clean one (0); ignored',
  numprocs_start: 'no equivalent: instances are numbered from 0 (PMON3_INSTANCE); ignored',
  stdout_logfile_maxbytes: 'becomes rotation when pmon3 has it; ignored',
  stdout_logfile_backups: 'becomes rotation when pmon3 has it; ignored',
  stderr_logfile_maxbytes: 'becomes rotation when pmon3 has it; ignored',
  stderr_logfile_backups: 'becomes rotation when pmon3 has it; ignored',
};

/** supervisord's configuration file (and what it includes) as our apps. */
export function importSupervisord(file: string, opts: SupervisordOptions): ImportResult {
  const files: string[] = [];
  const sections = readAll(file, opts, [], files);
  const warnings: ImportWarning[] = [];
  const warn = (s: Section, key: string | undefined, message: string): void => {
    warnings.push({ file: s.file, line: key === undefined ? s.line : (s.keys.get(key)?.line ?? s.line), field: key === undefined ? s.name : `${s.name}.${key}`, message });
  };
  // Groups first: group_name of a program, and its groups.
  const groupsOf = new Map<string, string[]>();
  for (const s of sections) {
    const m = /^group:(.+)$/.exec(s.name);
    if (!m) continue;
    const g = m[1]!.trim();
    const programs = s.keys.get('programs');
    if (!programs) throw invalidArgument(`${s.file}:${s.line}: [${s.name}]: programs = a,b expected`);
    if (!NAME_RE.test(g)) throw invalidArgument(`${s.file}:${s.line}: [${s.name}]: "${g}" is not a pmon3 group name (letters, digits, . _ -)`);
    for (const p of programs.value.split(',').map((x) => x.trim()).filter(Boolean)) groupsOf.set(p, [...(groupsOf.get(p) ?? []), g]);
    for (const k of s.keys.keys()) if (k !== 'programs') warn(s, k, k === 'priority' ? NO_EQUIVALENT.priority! : 'no equivalent; ignored');
  }
  const apps: AppEntry[] = [];
  const sources: ImportSource[] = [];
  const names = new Map<string, Section>();
  for (const s of sections) {
    if (s.name === 'include' || s.name.startsWith('group:')) continue;
    if (DAEMON_SECTIONS.test(s.name)) {
      warn(s, undefined, 'configures supervisord, not an app: ignored');
      continue;
    }
    const m = /^program:(.+)$/.exec(s.name);
    if (!m) {
      warn(s, undefined, s.name.startsWith('eventlistener:') ? 'no equivalent (pmon3 has hooks, not event listeners): ignored' : 'no equivalent: ignored');
      continue;
    }
    const program = m[1]!.trim();
    if (!NAME_RE.test(program) || program.length > 64) throw invalidArgument(`${s.file}:${s.line}: [${s.name}]: "${program}" is not a pmon3 name (letters, digits, . _ -)`);
    const prev = names.get(program);
    if (prev) throw invalidArgument(`${s.file}:${s.line}: [${s.name}]: defined twice (first at ${prev.file}:${prev.line})`);
    names.set(program, s);
    const groups = groupsOf.get(program);
    groupsOf.delete(program);
    const numprocsRaw = s.keys.get('numprocs');
    const numprocs = numprocsRaw ? Number(numprocsRaw.value) : 1;
    if (!Number.isInteger(numprocs) || numprocs < 1) throw invalidArgument(`${s.file}:${numprocsRaw!.line}: [${s.name}] numprocs: a whole number from 1 expected`);
    const start = Number(s.keys.get('numprocs_start')?.value ?? 0);
    const vars: Record<string, string | number> = {
      program_name: program,
      process_num: Number.isInteger(start) ? start : 0,
      group_name: groups?.[0] ?? program,
      numprocs,
      here: path.dirname(path.resolve(s.file)),
    };
    const done = new Set<string>();
    const get = (k: string): Value | undefined => {
      done.add(k);
      const v = s.keys.get(k);
      return v && { value: expand(v, s, k, vars, opts), line: v.line };
    };
    const bool = (k: string): boolean | undefined => {
      const v = get(k);
      if (!v) return undefined;
      const b = v.value.toLowerCase();
      if (TRUE.has(b)) return true;
      if (FALSE.has(b)) return false;
      throw invalidArgument(`${s.file}:${v.line}: [${s.name}] ${k}: true or false expected, not "${v.value.slice(0, 40)}"`);
    };
    const num = (k: string): number | undefined => {
      const v = get(k);
      if (!v) return undefined;
      if (!/^\d+$/.test(v.value)) throw invalidArgument(`${s.file}:${v.line}: [${s.name}] ${k}: a whole number expected, not "${v.value.slice(0, 40)}"`);
      return Number(v.value);
    };

    const app: AppEntry = { name: program };
    const command = get('command');
    if (!command || command.value === '') throw invalidArgument(`${s.file}:${s.line}: [${s.name}]: command = ... expected`);
    let words: string[];
    try {
      words = splitArgs(command.value);
    } catch (e) {
      throw invalidArgument(`${s.file}:${command.line}: [${s.name}] command: ${(e as Error).message}`);
    }
    app.exec = words[0]!;
    if (words.length > 1) app.args = words.slice(1);
    if (/%\(process_num\)/.test(s.keys.get('command')!.value) && numprocs > 1) {
      warn(s, 'command', `%(process_num) expanded to ${vars.process_num} for every instance: pmon3 gives each its number in PMON3_INSTANCE`);
    }
    const dir = get('directory');
    if (dir) app.cwd = dir.value;
    const user = get('user');
    if (user) app.user = user.value;
    const env = get('environment');
    if (env) {
      const e = parseEnvironment(env, s.file, `[${s.name}] environment`);
      if (Object.keys(e).length) app.env = e;
    }
    if (groups) app.groups = groups;
    if (numprocs > 1) {
      app.instances = numprocs;
      if (s.keys.has('process_name')) warn(s, 'process_name', `pmon3 names the instances ${program}:0 .. ${program}:${numprocs - 1}; ${s.keys.get('process_name')!.value} ignored`);
    } else if (s.keys.has('process_name')) {
      const pn = expand(s.keys.get('process_name')!, s, 'process_name', vars, opts);
      if (pn !== program) warn(s, 'process_name', `the app is named ${program} (its section); ${pn} ignored`);
    }
    done.add('process_name');
    done.add('numprocs');
    done.add('numprocs_start');
    if (start !== 0) warn(s, 'numprocs_start', NO_EQUIVALENT.numprocs_start!);

    const autostart = bool('autostart');
    if (autostart === false) app.autostart = false;
    const ar = get('autorestart');
    const arv = ar?.value.toLowerCase() ?? 'unexpected';
    if (TRUE.has(arv)) app.restart = 'always';
    else if (FALSE.has(arv)) app.restart = 'never';
    else if (arv === 'unexpected') app.restart = 'on-failure';
    else throw invalidArgument(`${s.file}:${ar!.line}: [${s.name}] autorestart: true, false or unexpected expected, not "${ar!.value.slice(0, 40)}"`);
    const exitcodes = get('exitcodes');
    if (exitcodes && exitcodes.value.replace(/\s/g, '') !== '0') warn(s, 'exitcodes', NO_EQUIVALENT.exitcodes!);
    const startsecs = num('startsecs');
    if (startsecs !== undefined) app.startsecs = startsecs;
    const startretries = num('startretries');
    if (startretries !== undefined) app.startretries = startretries;
    const sig = get('stopsignal');
    if (sig) {
      const n = sig.value.toUpperCase();
      if (!/^(SIG)?[A-Z][A-Z0-9]*$/.test(n)) throw invalidArgument(`${s.file}:${sig.line}: [${s.name}] stopsignal: a signal name expected (TERM, INT, ...)`);
      app.stop_signal = n.startsWith('SIG') ? n : `SIG${n}`;
    }
    const wait = num('stopwaitsecs');
    if (wait !== undefined) app.stop_timeout = wait;
    for (const k of ['stopasgroup', 'killasgroup']) {
      const b = bool(k);
      if (b === true) warn(s, k, 'always so in pmon3 (it signals the whole process group and cgroup)');
      else if (b === false) warn(s, k, 'pmon3 always signals the whole process group and cgroup; false ignored');
    }

    // Logs: one per process, stdout and stderr together.
    const out = get('stdout_logfile');
    const err = get('stderr_logfile');
    const redirect = bool('redirect_stderr');
    const auto = (v: Value | undefined): boolean => !v || v.value.toUpperCase() === 'AUTO';
    if (out && out.value.toUpperCase() === 'NONE') {
      // Not /dev/null: pmon3 opens a log only as a regular file its user owns.
      warn(s, 'stdout_logfile', "NONE: pmon3 always keeps a log (pmond's default for the app; not /dev/null, which it would refuse to open)");
    } else if (!auto(out)) app.log = out!.value;
    if (err && !auto(err) && err.value !== out?.value) {
      warn(s, 'stderr_logfile', `pmon3 writes one log per process, stdout and stderr together${app.log ? `, to ${app.log}` : ''}; ${err.value} ignored`);
    } else if (redirect === false && err === undefined && s.keys.has('redirect_stderr')) {
      warn(s, 'redirect_stderr', 'pmon3 writes stdout and stderr to one log; false ignored');
    }

    for (const [k] of s.keys) {
      if (done.has(k)) continue;
      warn(s, k, NO_EQUIVALENT[k] ?? 'no equivalent; ignored');
    }
    apps.push(app);
    sources.push({ file: s.file, line: s.line });
  }
  for (const [p, gs] of groupsOf) {
    throw invalidArgument(`${file}: [group:${gs[0]}] programs: ${p}: no [program:${p}]`);
  }
  return { format: 'supervisord', apps, warnings: warnings.sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : files.indexOf(a.file) - files.indexOf(b.file))), files, sources };
}

/** %(name)s / %(name)d / %(name)02d expansions; %% is %. */
function expand(v: Value, s: Section, key: string, vars: Record<string, string | number>, opts: SupervisordOptions): string {
  return v.value.replace(/%%|%\(([^)]+)\)(-?\d*)([sd])/g, (all, name: string | undefined, width: string, conv: string) => {
    if (all === '%%') return '%';
    let val: string | number | undefined = vars[name!];
    if (name === 'host_node_name') val = opts.hostname;
    else if (name!.startsWith('ENV_')) val = opts.environ?.[name!.slice(4)];
    if (val === undefined) throw invalidArgument(`${s.file}:${v.line}: [${s.name}] ${key}: %(${name})${conv}: ${name === 'host_node_name' ? 'the host name is not known' : name!.startsWith('ENV_') ? `${name!.slice(4)} is not in the environment` : 'no such expansion'}`);
    let out = conv === 'd' ? String(Math.trunc(Number(val))) : String(val);
    const w = Number(width || 0);
    if (w > 0) out = out.padStart(w, width.startsWith('0') ? '0' : ' ');
    return out;
  });
}
