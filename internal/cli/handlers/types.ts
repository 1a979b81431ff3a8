/** What a command handler gets and gives. */
import type { Parsed } from '../parse';
import type { Io } from '../io';

/** A parsed command line that runs a command. */
export type Run = Extract<Parsed, { kind: 'run' }>;

/** A command's result: text for humans (unless --json) and the value --json prints. */
export interface Outcome {
  text: string;
  value: unknown;
  /** Some of what a selector named failed (the rest was done): a line each on stderr, and this exit status. */
  failed?: { lines: string[]; exit: number };
}

/** A command: returns its outcome, or undefined when it wrote its own output (streams). */
export type Handler = (r: Run, io: Io) => Promise<Outcome | undefined>;

/** A flag's string value. */
export const str = (r: Run, name: string): string | undefined => r.flags[name] as string | undefined;
/** A flag's boolean value. */
export const bool = (r: Run, name: string): boolean => r.flags[name] === true;
/** A flag's integer value. */
export const int = (r: Run, name: string): number => r.flags[name] as number;
/** A flag's list of values (multiple). */
export const list = (r: Run, name: string): string[] => (r.flags[name] as string[] | undefined) ?? [];
/** A positional argument. */
export const arg = (r: Run, name: string): string | undefined => r.args[name] as string | undefined;
