/**
 * What the readers of issue 13 share: a parsed source file with the line of every key path
 * (internal/apps/file.ts load()), and a view of one mapping of it that hands out its fields
 * typed, turns a wrong type into one error line `FILE:LINE: field: expected ...`, and warns for
 * every key no one took (nothing dropped silently).
 */
import { type AppsFormat, load, type Locate } from '../apps/file';
import { invalidArgument } from '../protocol/errors';
import { ENV_NAME_RE, nameSchema } from '../protocol/methods';
import { type ImportWarning, where } from './types';

export type KeyPath = ReadonlyArray<string | number>;

/** One parsed file: its data, where each key path is, and the warnings made reading it. */
export interface Source {
  file: string;
  data: unknown;
  locate: Locate;
  warnings: ImportWarning[];
}

export function parseSource(text: string, file: string, format: AppsFormat, locate?: (text: string) => Locate): Source {
  const { data, locate: own } = load(text, file, format);
  return { file, data, locate: locate ? locate(text) : own, warnings: [] };
}

/** Throw the one-line import error for a key path. */
export function fail(src: Pick<Source, 'file' | 'locate'>, p: KeyPath, message: string): never {
  throw invalidArgument(`${where(src.file, src.locate(p))}: ${message}`);
}

export function warn(src: Source, p: KeyPath, field: string, message: string): void {
  src.warnings.push({ file: src.file, line: src.locate(p), field, message });
}

export const isMapping = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export const IGNORED = 'no equivalent in pmon3; ignored';

/**
 * One mapping of a source (an app, a worker, a task). `label` spells its field names in
 * messages as the source would (`apps[0]`, `web`, `tasks[1]`): `label.key`.
 */
export class Fields {
  private readonly used = new Set<string>();
  constructor(
    readonly src: Source,
    readonly at: KeyPath,
    readonly value: Record<string, unknown>,
    readonly label: string,
  ) {}

  /** A mapping at a key path, or the import error. */
  static of(src: Source, at: KeyPath, value: unknown, label: string): Fields {
    if (!isMapping(value)) fail(src, at, `${label}: expected a mapping`);
    return new Fields(src, at, value, label);
  }

  field(k: string): string {
    return this.label ? `${this.label}.${k}` : k;
  }

  line(k: string): number | undefined {
    return this.src.locate([...this.at, k]);
  }

  has(k: string): boolean {
    return this.value[k] !== undefined && this.value[k] !== null;
  }

  /** The raw value, marked as taken. */
  take(k: string): unknown {
    this.used.add(k);
    return this.value[k];
  }

  fail(k: string, expected: string): never {
    return fail(this.src, [...this.at, k], `${this.field(k)}: expected ${expected}`);
  }

  warn(k: string, message: string): void {
    warn(this.src, [...this.at, k], this.field(k), message);
  }

  /** A key seen and warned about (a field pmon3 has no or a different meaning for). */
  warnTaken(k: string, message: string): void {
    if (!(k in this.value)) return;
    this.used.add(k);
    this.warn(k, message);
  }

  str(k: string): string | undefined {
    const v = this.take(k);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(k, 'a string');
    return v;
  }

  num(k: string): number | undefined {
    const v = this.take(k);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(k, 'a number');
    return v;
  }

  int(k: string): number | undefined {
    const v = this.num(k);
    if (v !== undefined && !Number.isInteger(v)) this.fail(k, 'a whole number');
    return v;
  }

  bool(k: string): boolean | undefined {
    const v = this.take(k);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(k, 'true or false');
    return v;
  }

  strList(k: string): string[] | undefined {
    const v = this.take(k);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) this.fail(k, 'a list of strings');
    return v as string[];
  }

  /** A warning for every key not taken: `message`, by default "no equivalent in pmon3; ignored". */
  rest(message = IGNORED): void {
    for (const k of Object.keys(this.value)) if (!this.used.has(k)) this.warnTaken(k, message);
  }
}

/** Strip undefined values, so an entry deep-equals what a user would write. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** An app name as our apps file takes it, or the import error at its line. */
export function appName(src: Pick<Source, 'file' | 'locate'>, p: KeyPath, field: string, name: string): string {
  const r = nameSchema.safeParse(name);
  if (!r.success) fail(src, p, `${field}: ${JSON.stringify(name)} is not a pmon3 app name (${r.error.issues[0]!.message})`);
  return name;
}

/** NAME=value words into env; a word that is not, or a name we do not take, goes to skip. */
export function envOf(words: readonly string[], skip: (word: string, why: string) => void): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) skip(word, 'not NAME=value');
    else if (!ENV_NAME_RE.test(word.slice(0, eq))) skip(word, 'a name pmon3 does not take (letters, digits and _)');
    else env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return Object.keys(env).length ? env : undefined;
}

/** Warnings in file order, then line order (a reader makes them field by field). */
export function inOrder(warnings: ImportWarning[], files: readonly string[]): ImportWarning[] {
  // A file not read (a duplicate skipped) goes last.
  const rank = (w: ImportWarning): number => (files.includes(w.file) ? files.indexOf(w.file) : files.length);
  return warnings
    .map((w, i) => ({ w, i }))
    .sort((a, b) => rank(a.w) - rank(b.w) || (a.w.line ?? 0) - (b.w.line ?? 0) || a.i - b.i)
    .map((x) => x.w);
}
