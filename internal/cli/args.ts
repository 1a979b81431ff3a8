/**
 * exec's request from its argv, as the CLI (the caller) builds it: the binary found as the caller
 * would (a path, a file here, a command in PATH), the interpreter for a script that is not
 * executable, the default name. Splitting of --args and --env-vars is internal/words.
 */import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '../protocol/errors';
import { type ExecParams, nameSchema } from '../protocol/methods';
import { parseEnvVars, splitArgs } from '../words';


/** exec's argv as the parser gives it (flags by their long names, unresolved). */
export interface ExecArgv {
  binary: string;
  /** The program's arguments given after `--`, in order. */
  extra: string[];
  name?: string;
  args?: string;
  /** Each -e/--env-vars value, in order (later ones win). */
  envVars?: string[];
  user?: string;
  log?: string;
  logDir?: string;
  cwd?: string;
  /** An interpreter to run binary with, or "none". */
  interpreter?: string;
  noAutorestart: boolean;
  /** -g/--groups, --dependencies: comma-separated names; -i/--instances. */
  groups?: string;
  dependencies?: string;
  instances?: number;
}

/** "a,b, c" → ["a", "b", "c"] (empty words dropped). */
const commaList = (s: string): string[] => s.split(',').map((w) => w.trim()).filter((w) => w !== '');

/** Interpreters by extension, for a script that is not executable and has no #! line (PM2's choices). */
export const INTERPRETERS: Readonly<Record<string, string>> = {
  '.js': 'node',
  '.mjs': 'node',
  '.cjs': 'node',
  '.py': 'python3',
  '.sh': 'sh',
  '.bash': 'bash',
  '.rb': 'ruby',
  '.pl': 'perl',
  '.php': 'php',
};

/** What the file system looks like to the CLI (the caller): injectable for tests. */
export interface Fs {
  /** Whether path is a regular file the caller may execute. */
  isExecutableFile(p: string): boolean;
  /** Whether path exists (any type). */
  exists(p: string): boolean;
  /** Whether path is a regular file (following symlinks). */
  isRegularFile(p: string): boolean;
  /** The first line of a file, if it can be read (at most 256 bytes). */
  firstLine(p: string): string | undefined;
}

export const realFs: Fs = {
  isExecutableFile(p) {
    try {
      if (!fs.statSync(p).isFile()) return false;
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  exists(p) {
    try {
      fs.statSync(p);
      return true;
    } catch {
      return false;
    }
  },
  isRegularFile(p) {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  },
  firstLine(p) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      const buf = Buffer.alloc(256);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8').split('\n')[0];
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  },
};

/**
 * A bare command name looked up in PATH as execvp does (the caller's PATH: the CLI runs as the
 * caller); undefined if no executable file of that name is there.
 */
export function lookPath(name: string, PATH: string | undefined, here: string, f: Fs = realFs): string | undefined {
  for (const dir of (PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const full = path.resolve(here, dir || '.', name);
    if (f.isExecutableFile(full)) return full;
  }
  return undefined;
}

/**
 * The binary as pmond gets it: a path (with a "/") resolves against `here`; a bare word names a
 * file in `here` if there is one (as the Go pmon3 and PM2 take `exec app.sh`), else a command in
 * the caller's PATH (`exec node`), else it is "command not found", in the shell's words.
 */
export function binaryParam(binary: string, here: string, PATH: string | undefined, f: Fs = realFs): string {
  if (binary === '') throw invalidArgument('exec: BINARY must not be empty');
  if (binary.includes('/')) return path.resolve(here, binary);
  const local = path.join(here, binary);
  if (f.exists(local)) return local;
  const found = lookPath(binary, PATH, here, f);
  if (!found) throw invalidArgument(`${binary}: command not found`);
  return found;
}

/**
 * How to run `file`: itself, or through an interpreter — given with --interpreter (a path or a
 * command in PATH; "none" runs the file as it is), else for a file that is not executable, the
 * one its #! line names, else the one for its extension. A file that is executable runs as it is
 * (the kernel reads its #! line). Returns the program and the arguments that go before the user's.
 */
export function interpreterFor(file: string, interpreter: string | undefined, here: string, PATH: string | undefined, f: Fs = realFs): { file: string; pre: string[] } {
  const resolve = (bin: string): string => (bin.includes('/') ? path.resolve(here, bin) : (lookPath(bin, PATH, here, f) ?? bin));
  if (interpreter !== undefined) {
    if (interpreter === 'none') return { file, pre: [] };
    const words = splitArgs(interpreter);
    if (words.length === 0) throw invalidArgument('exec: --interpreter must name a program, or be "none"');
    const bin = resolve(words[0]!);
    if (!bin.includes('/')) throw invalidArgument(`${words[0]}: command not found (--interpreter)`);
    return { file: bin, pre: [...words.slice(1), file] };
  }
  // Missing, a directory, or executable: run it as it is (the exec helper says what is wrong).
  if (!f.isRegularFile(file) || f.isExecutableFile(file)) return { file, pre: [] };
  const line = f.firstLine(file);
  if (line?.startsWith('#!')) {
    const words = line.slice(2).trim().split(/\s+/).filter(Boolean);
    // #!/usr/bin/env node → node from PATH; #!/bin/sh -e → /bin/sh -e.
    const [bin, ...rest] = words[0] && path.basename(words[0]) === 'env' && words[1] ? words.slice(1).filter((w) => w !== '-S') : words;
    if (bin) {
      const full = resolve(bin);
      if (!full.includes('/')) throw invalidArgument(`${bin}: command not found (the #! line of ${file})`);
      return { file: full, pre: [...rest, file] };
    }
  }
  const byExt = INTERPRETERS[path.extname(file).toLowerCase()];
  if (byExt) {
    const full = lookPath(byExt, PATH, here, f);
    if (!full) throw invalidArgument(`${byExt}: command not found (to run ${file}; give --interpreter)`);
    return { file: full, pre: [file] };
  }
  throw invalidArgument(`exec: ${file} is not executable and has no #! line or known extension: chmod +x it, or give --interpreter BIN`);
}

/** The default process name: the file name without its extension (app.sh → app). */
export function defaultName(file: string): string {
  const base = path.basename(file);
  const ext = path.extname(base);
  return ext && ext !== base ? base.slice(0, -ext.length) : base;
}

/** exec's request from its argv: the one place it is built. Paths resolve against `here`. */
export function execParams(a: ExecArgv, here: string, PATH: string | undefined = process.env.PATH, f: Fs = realFs): ExecParams {
  const script = binaryParam(a.binary, here, PATH, f);
  const run = interpreterFor(script, a.interpreter, here, PATH, f);
  const env: Record<string, string> = {};
  for (const v of a.envVars ?? []) Object.assign(env, parseEnvVars(v));
  const name = a.name ?? defaultName(script);
  if (a.name === undefined) {
    const ok = nameSchema.safeParse(name);
    if (!ok.success) throw invalidArgument(`name "${name.slice(0, 80)}": ${ok.error.issues[0]!.message} (use --name)`);
  }
  return {
    file: run.file,
    name,
    args: [...run.pre, ...(a.args !== undefined ? splitArgs(a.args) : []), ...a.extra],
    env,
    cwd: path.resolve(here, a.cwd ?? '.'),
    ...(a.user !== undefined ? { user: a.user } : {}),
    ...(a.log !== undefined ? { log: path.resolve(here, a.log) } : {}),
    ...(a.logDir !== undefined ? { log_dir: path.resolve(here, a.logDir) } : {}),
    auto_restart: !a.noAutorestart,
    ...(a.groups !== undefined ? { groups: commaList(a.groups) } : {}),
    ...(a.dependencies !== undefined ? { dependencies: commaList(a.dependencies) } : {}),
    ...(a.instances !== undefined ? { instances: a.instances } : {}),
  };
}
