/**
 * The closed set of error codes pmon3 uses, on the wire and in exit codes.
 * Both mappings live here and nowhere else.
 */
export const ERROR_CODES = [
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID_ARGUMENT',
  'PERMISSION_DENIED',
  'FAILED_PRECONDITION',
  'INTERNAL',
  'UNAVAILABLE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error that carries one of the closed set of codes. */
export class PmonError extends Error {
  /** The closed-set code that decides the wire form and the exit status. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PmonError';
    this.code = code;
  }
}

/** Shorthand constructors, so call sites read `notFound(...)`. */
export const notFound = (m: string): PmonError => new PmonError('NOT_FOUND', m);
export const alreadyExists = (m: string): PmonError => new PmonError('ALREADY_EXISTS', m);
export const invalidArgument = (m: string): PmonError => new PmonError('INVALID_ARGUMENT', m);
export const permissionDenied = (m: string): PmonError => new PmonError('PERMISSION_DENIED', m);
export const failedPrecondition = (m: string): PmonError => new PmonError('FAILED_PRECONDITION', m);
export const internal = (m: string): PmonError => new PmonError('INTERNAL', m);
export const unavailable = (m: string): PmonError => new PmonError('UNAVAILABLE', m);

/** The wire form of an error. */
export interface WireError {
  /** One of ERROR_CODES. */
  code: ErrorCode;
  /** One line for a human. */
  message: string;
}

/**
 * The one place an arbitrary thrown value becomes a wire error. Anything that
 * is not a PmonError is INTERNAL; its message is kept to one line.
 */
export function toWireError(err: unknown): WireError {
  if (err instanceof PmonError) return { code: err.code, message: oneLine(err.message) };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: oneLine(message) };
}

/**
 * The inverse of toWireError, used by the clients, for an error as it came over the wire (any
 * shape): its code if it is one of ERROR_CODES, else INTERNAL; its message, else `fallback`.
 */
export function fromWireError(e: unknown, fallback = 'unknown error'): PmonError {
  const w = e as { code?: unknown; message?: unknown } | undefined;
  const code = ERROR_CODES.includes(w?.code as ErrorCode) ? (w!.code as ErrorCode) : 'INTERNAL';
  return new PmonError(code, typeof w?.message === 'string' ? w.message : fallback);
}

/** Exit status for each code: the one place the CLI's exit codes are decided. */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  INTERNAL: 1,
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 3,
  ALREADY_EXISTS: 4,
  PERMISSION_DENIED: 5,
  FAILED_PRECONDITION: 6,
  UNAVAILABLE: 7,
};

/** HTTP status for each code: the one place the HTTP door's statuses are decided (its body carries the code). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INTERNAL: 500,
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  FAILED_PRECONDITION: 412,
  UNAVAILABLE: 503,
};

/** Exit status for any thrown value. */
export function exitCodeFor(err: unknown): number {
  return err instanceof PmonError ? EXIT_CODES[err.code] : EXIT_CODES.INTERNAL;
}

function oneLine(s: string): string {
  const line = s.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > 500 ? `${line.slice(0, 497)}...` : line;
}
