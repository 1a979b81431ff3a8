/**
 * pmon3's argv parser, driven by the command table (table.ts): one parser for
 * every command, so what `--help` shows is what is accepted.
 *
 * Rules (an operator of PM2 or the Go pmon3 should not be surprised):
 * - flags go anywhere before `--`; `--long value`, `--long=value`, `-s value`,
 *   `-svalue`, and booleans bundled (`-nf`). A value is the next word whatever
 *   it starts with (`--args -port=8080` works).
 * - `-h`/`--help` anywhere before `--` shows the command's help; `pmon3 -v`
 *   and `pmon3 --version` print the version.
 * - every mistake is one PmonError INVALID_ARGUMENT (one line, exit 2), with a
 *   did-you-mean for unknown commands, flags and values.
 * Pure: no I/O.
 */
import { invalidArgument } from '../protocol/errors';
import { suggest } from './suggest';
import { type ArgDef, type CommandDef, commandWords, type FlagDef, findCommand, GLOBAL_FLAGS, VERSION_FLAGS } from './table';

/** Flag values by long name; defaults applied. */
export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

/** What argv asks for. */
export type Parsed =
  | { kind: 'help'; command?: CommandDef; json: boolean; noColor: boolean }
  | { kind: 'version'; json: boolean }
  | {
      kind: 'run';
      command: CommandDef;
      /** Positional arguments by name (a variadic one is an array). */
      args: Record<string, string | string[] | undefined>;
      flags: FlagValues;
      /** Words after `--` (commands with passThrough). */
      rest: string[];
      json: boolean;
      noColor: boolean;
    };

/** Whether argv asks for JSON (before any `--`), for reporting a parse error as JSON too. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

const quote = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
const didYouMean = (s: string | undefined): string => (s === undefined ? '' : `; did you mean "${s}"?`);

/**
 * `run NAME` (one word, no flags but --json/--no-color) runs a process now; any other `run ...`
 * is the Go pmon3's alias of exec. (The run handler falls back to exec when NAME names no process.)
 */
function isRunNow(rest: readonly string[]): boolean {
  const words = rest.filter((w) => w !== '--json' && w !== '--no-color');
  return words.length === 1 && !/^[-./]/.test(words[0]!);
}

/** Whether -h or --help comes before any `--`. */
function asksHelp(rest: readonly string[]): boolean {
  const end = rest.indexOf('--');
  return (end < 0 ? rest : rest.slice(0, end)).some((w) => w === '-h' || w === '--help');
}

/** Parse argv (the words after `pmon3`). Throws INVALID_ARGUMENT. */
export function parseArgv(argv: readonly string[]): Parsed {
  const json = wantsJson(argv);
  let noColor = false;
  let i = 0;
  // Global flags before the command.
  while (i < argv.length && argv[i]!.startsWith('-')) {
    const w = argv[i]!;
    if (w === '--json') i++;
    else if (w === '--no-color') {
      noColor = true;
      i++;
    } else if (w === '-h' || w === '--help') return { kind: 'help', json, noColor };
    else if (VERSION_FLAGS.includes(w)) return { kind: 'version', json };
    else {
      const known = ['--help', '--version', '--json', '--no-color'];
      throw invalidArgument(`unknown flag ${quote(w)}${didYouMean(suggest(w, known))} (pmon3 help lists the commands)`);
    }
  }
  if (i >= argv.length) return { kind: 'help', json, noColor };
  const word = argv[i]!;
  const command = word === 'run' && !isRunNow(argv.slice(i + 1)) && !asksHelp(argv.slice(i + 1)) ? findCommand('exec') : findCommand(word);
  if (!command) {
    throw invalidArgument(`unknown command ${quote(word)}${didYouMean(suggest(word, commandWords()))} (pmon3 help lists the commands)`);
  }
  const rest = argv.slice(i + 1);
  const dashDash = rest.indexOf('--');
  const beforeDashDash = dashDash < 0 ? rest : rest.slice(0, dashDash);
  if (beforeDashDash.some((w) => w === '-h' || w === '--help')) return { kind: 'help', command, json, noColor };
  const p = parseCommand(command, rest);
  if (command.name === 'help') {
    const name = p.args.command as string | undefined;
    if (name === undefined) return { kind: 'help', json, noColor: noColor || p.noColor };
    const target = findCommand(name);
    if (!target) throw invalidArgument(`help: unknown command ${quote(name)}${didYouMean(suggest(name, commandWords()))}`);
    return { kind: 'help', command: target, json, noColor: noColor || p.noColor };
  }
  return { kind: 'run', command, args: p.args, flags: p.flags, rest: p.rest, json, noColor: noColor || p.noColor };
}

/** The words after the command word. */
function parseCommand(cmd: CommandDef, words: readonly string[]): { args: Record<string, string | string[] | undefined>; flags: FlagValues; rest: string[]; noColor: boolean } {
  const flags: FlagValues = {};
  const given = new Set<string>();
  const positional: string[] = [];
  const rest: string[] = [];
  const all = [...cmd.flags, ...GLOBAL_FLAGS];
  let noColor = false;
  /** The last flag word seen, for a hint when a stray word follows a boolean flag (exec ./app -n api). */
  let lastBoolean: string | undefined;

  const set = (f: FlagDef, spelled: string, raw: string | undefined): void => {
    if (given.has(f.long) && !f.multiple) throw invalidArgument(`${cmd.name}: ${spelled} given twice`);
    given.add(f.long);
    if (f.type === 'boolean') {
      if (raw !== undefined) throw invalidArgument(`${cmd.name}: ${spelled} takes no value`);
      if (f.long === 'no-color') noColor = true;
      else if (f.long !== 'json') flags[f.long] = true;
      return;
    }
    if (raw === undefined) throw invalidArgument(`${cmd.name}: ${spelled} needs a value${f.placeholder ? ` (${spelled} ${f.placeholder})` : ''}`);
    const value = convert(cmd, f, spelled, raw);
    if (f.multiple) flags[f.long] = [...((flags[f.long] as string[] | undefined) ?? []), value as string];
    else flags[f.long] = value;
  };

  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      const after = words.slice(i + 1);
      if (cmd.passThrough) rest.push(...after);
      else positional.push(...after);
      break;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq > 0 ? w.slice(2, eq) : w.slice(2);
      const f = all.find((x) => x.long === name || (x.alsoLong ?? []).includes(name));
      if (!f) throw unknownFlag(cmd, w.slice(0, eq > 0 ? eq : undefined), all);
      const raw = eq > 0 ? w.slice(eq + 1) : f.type === 'boolean' ? undefined : valueAt(words, ++i, all);
      set(f, `--${f.long}`, raw);
      lastBoolean = f.type === 'boolean' ? w : undefined;
      continue;
    }
    if (w.startsWith('-') && w.length > 1 && !/^-\d/.test(w)) {
      // -x, -xVALUE, or booleans bundled: -nf.
      for (let j = 1; j < w.length; j++) {
        const f = all.find((x) => x.short === w[j]);
        if (!f) throw unknownFlag(cmd, j === 1 ? w : `-${w[j]}`, all);
        if (f.type === 'boolean') {
          set(f, `-${f.short}`, undefined);
          continue;
        }
        const attached = w.slice(j + 1);
        set(f, `-${f.short}`, attached !== '' ? attached : valueAt(words, ++i, all));
        break;
      }
      const lastF = all.find((x) => x.short === w[w.length - 1]);
      lastBoolean = lastF?.type === 'boolean' ? w : undefined;
      continue;
    }
    positional.push(w);
    if (positional.length > cmd.args.length && !cmd.args.some((a) => a.variadic)) {
      throw strayWord(cmd, w, positional[0] ?? '', lastBoolean);
    }
    lastBoolean = undefined;
  }

  const args: Record<string, string | string[] | undefined> = {};
  let k = 0;
  for (const a of cmd.args) {
    if (a.variadic) {
      args[a.name] = positional.slice(k);
      for (const v of positional.slice(k)) checkChoice(cmd, a, v);
      k = positional.length;
      continue;
    }
    const v = positional[k++];
    if (v === undefined) {
      if (a.required) throw invalidArgument(`${cmd.name}: missing ${a.name.toUpperCase()} (usage: ${usageLine(cmd)})`);
      continue;
    }
    checkChoice(cmd, a, v);
    args[a.name] = v;
  }
  if (k < positional.length) throw strayWord(cmd, positional[k]!, positional[0] ?? '', undefined);
  for (const f of cmd.flags) if (flags[f.long] === undefined && f.default !== undefined) flags[f.long] = f.default;
  return { args, flags, rest, noColor };
}

/**
 * The word at i as a flag's value: any word (`--args -port=8080`), except `--` and a word that
 * is exactly one of this command's long flags (`log x --lines --json` is a missing value).
 */
function valueAt(words: readonly string[], i: number, all: readonly FlagDef[]): string | undefined {
  const w = words[i];
  if (w === undefined || w === '--') return undefined;
  if (w.startsWith('--') && all.some((f) => `--${f.long}` === w || (f.alsoLong ?? []).some((l) => `--${l}` === w))) return undefined;
  return w;
}

function convert(cmd: CommandDef, f: FlagDef, spelled: string, raw: string): string | number {
  if (f.type === 'integer') {
    if (!/^\d+$/.test(raw)) throw invalidArgument(`${cmd.name}: ${spelled} takes a whole number, not ${quote(raw)}`);
    const n = Number(raw);
    if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
      throw invalidArgument(`${cmd.name}: ${spelled} must be between ${f.min ?? 0} and ${f.max ?? Number.MAX_SAFE_INTEGER}, not ${raw}`);
    }
    return n;
  }
  if (f.values && !f.values.includes(raw)) {
    throw invalidArgument(`${cmd.name}: ${spelled} takes ${f.values.join(', ')}, not ${quote(raw)}${didYouMean(suggest(raw, f.values))}`);
  }
  return raw;
}

function checkChoice(cmd: CommandDef, a: ArgDef, v: string): void {
  const values = a.name === 'command' && cmd.name === 'help' ? undefined : a.values;
  if (values && !values.includes(v)) {
    throw invalidArgument(`${cmd.name}: ${a.name.toUpperCase()} is ${values.join(', ')}, not ${quote(v)}${didYouMean(suggest(v, values))}`);
  }
}

function unknownFlag(cmd: CommandDef, spelled: string, all: readonly FlagDef[]): Error {
  const known = all.flatMap((f) => [`--${f.long}`, ...(f.alsoLong ?? []).map((l) => `--${l}`), ...(f.short ? [`-${f.short}`] : [])]);
  return invalidArgument(`${cmd.name}: unknown flag ${quote(spelled)}${didYouMean(suggest(spelled, known))} (pmon3 ${cmd.name} --help)`);
}

function strayWord(cmd: CommandDef, w: string, first: string, lastBoolean: string | undefined): Error {
  if (cmd.passThrough) {
    const hint = lastBoolean && cmd.flags.some((f) => f.short === 'n' && f.type === 'boolean') && /^-[a-z]*n$/.test(lastBoolean) ? ' (-n is --no-autorestart; the process name is --name)' : '';
    return invalidArgument(
      `${cmd.name}: unexpected ${quote(w)} after ${quote(first)}: the program's arguments go after -- (pmon3 ${cmd.name} ${first} -- ${w}) or in --args${hint}`,
    );
  }
  return invalidArgument(`${cmd.name}: unexpected argument ${quote(w)} (usage: ${usageLine(cmd)})`);
}

/** `pmon3 stop TARGET [flags]`: the usage line of a command. */
export function usageLine(cmd: CommandDef): string {
  const args = cmd.args.map((a) => {
    const n = a.name.toUpperCase() + (a.variadic ? '...' : '');
    return a.required ? n : `[${n}]`;
  });
  const parts = ['pmon3', cmd.name, ...args];
  if (cmd.flags.length) parts.push('[flags]');
  if (cmd.passThrough) parts.push('[-- ARGS...]');
  return parts.join(' ');
}

