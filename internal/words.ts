/**
 * Shell-like splitting of `--args "…"`, `--env-vars "…"` and apps files' `args` strings into argv
 * and variables. Quoting only: single quotes keep everything literally, double quotes allow
 * \" \\ \$ \` escapes, a backslash outside quotes escapes the next character. Nothing is ever
 * expanded or executed: `$(x)`, `*` and `;` are plain text. (A library such as shell-quote also
 * parses operators and expands variables, which is exactly what must not happen here.)
 */
import { invalidArgument } from './protocol/errors';
import { ENV_NAME_RE } from './protocol/methods';

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

