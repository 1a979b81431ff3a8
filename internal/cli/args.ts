/**
 * Shell-like splitting of `--args "…"` and `--env-vars "…"` into argv and
 * variables. Quoting only: single quotes keep everything literally, double
 * quotes allow \" \\ \$ \` escapes, a backslash outside quotes escapes the
 * next character. Nothing is ever expanded or executed: `$(x)`, `*` and `;`
 * are plain text. (A library such as shell-quote also parses operators and
 * expands variables, which is exactly what must not happen here.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidArgument } from '../protocol/errors';
import { ENV_NAME_RE, type ExecParams } from '../protocol/methods';

export function splitArgs(input: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw invalidArgument('unterminated single quote in arguments');
      cur += input.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < input.length) {
        const d = input[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < input.length && '"\\$`\n'.includes(input[i + 1]!)) {
          if (input[i + 1] !== '\n') cur += input[i + 1];
          i += 2;
          continue;
        }
        cur += d;
        i++;
      }
      if (!closed) throw invalidArgument('unterminated double quote in arguments');
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw invalidArgument('trailing backslash in arguments');
      if (input[i + 1] !== '\n') cur += input[i + 1];
      inWord = true;
      i += 2;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** "A=1 B='two words'" → { A: '1', B: 'two words' }. */
export function parseEnvVars(input: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of splitArgs(input)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw invalidArgument(`environment variable "${word.slice(0, 60)}" must be NAME=value`);
    const name = word.slice(0, eq);
    if (!ENV_NAME_RE.test(name)) throw invalidArgument(`environment variable name "${name.slice(0, 60)}" may hold only letters, digits and _`);
    env[name] = word.slice(eq + 1);
  }
  return env;
}

/** exec's argv as oclif parses it (flags by their long names, unresolved). */
export interface ExecArgv {
  binary: string;
  /** Positional arguments after the binary, in order (with and without `--`). */
  extra: string[];
  name?: string;
  args?: string;
  envVars?: string;
  user?: string;
  log?: string;
  logDir?: string;
  cwd?: string;
  noAutorestart: boolean;
}

/**
 * The binary as pmond gets it: a path (with a "/") resolves against `here`; a bare word names
 * a file in `here` if there is one (as the Go pmon3 and PM2 take `exec app.sh`), else it is
 * sent bare and the exec helper looks it up in the child's PATH, as the user (`exec node`).
 */
export function binaryParam(binary: string, here: string): string {
  if (binary.includes('/')) return path.resolve(here, binary);
  const local = path.join(here, binary);
  return fs.existsSync(local) ? local : binary;
}

/** exec's request from its argv: the one place both CLI paths build it. Paths resolve against `here`. */
export function execParams(a: ExecArgv, here: string): ExecParams {
  return {
    file: binaryParam(a.binary, here),
    ...(a.name !== undefined ? { name: a.name } : {}),
    args: [...(a.args !== undefined ? splitArgs(a.args) : []), ...a.extra],
    env: a.envVars !== undefined ? parseEnvVars(a.envVars) : {},
    cwd: path.resolve(here, a.cwd ?? '.'),
    ...(a.user !== undefined ? { user: a.user } : {}),
    ...(a.log !== undefined ? { log: path.resolve(here, a.log) } : {}),
    ...(a.logDir !== undefined ? { log_dir: path.resolve(here, a.logDir) } : {}),
    auto_restart: !a.noAutorestart,
  };
}
