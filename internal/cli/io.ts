/**
 * What a command's output goes to, and how it should look there: colours only
 * on a terminal (never through a pipe), honouring NO_COLOR, --no-color,
 * TERM=dumb and FORCE_COLOR; tables fit the terminal's width, or COLUMNS.
 */
import type { Look } from './render';

/** A command's surroundings. */
export interface Io {
  /** Write to stdout. */
  out(text: string): void;
  /** Write to stderr. */
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** --json was given. */
  json: boolean;
  /** How human output looks on stdout. */
  look: Look;
}

/** Whether stdout gets colours. */
export function useColor(env: NodeJS.ProcessEnv, isTty: boolean, noColorFlag: boolean): boolean {
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return isTty && env.TERM !== 'dumb';
}

/** The width tables fit in: the terminal's, else a numeric COLUMNS, else none. */
export function outputWidth(env: NodeJS.ProcessEnv, ttyColumns: number | undefined): number | undefined {
  const cols = Number(env.COLUMNS);
  if (env.COLUMNS && Number.isInteger(cols) && cols > 0) return cols;
  return ttyColumns && ttyColumns > 0 ? ttyColumns : undefined;
}

/** This process's Io. node:tty is required here, not at the top: the start-up snapshot must not load it. */
export function processIo(json: boolean, noColor: boolean): Io {
  const tty = require('node:tty') as typeof import('node:tty');
  const isTty = tty.isatty(1);
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    json,
    look: { color: useColor(process.env, isTty, noColor), width: outputWidth(process.env, isTty ? process.stdout.columns : undefined) },
  };
}
