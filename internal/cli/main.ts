/**
 * pmon3's one entry: parse argv with the command table, then help, version or
 * the command's handler; every error is one line on stderr (and the JSON
 * error object on stdout with --json) and an exit status from the closed set
 * (internal/protocol/errors). Both start-up paths run this: the V8 snapshot
 * (snapshot.ts) and bin/pmon3.js from dist/.
 */
import { exitCodeFor, toWireError } from '../protocol/errors';
import { VERSION } from '../version';
import { HANDLERS } from './handlers';
import { commandHelp, helpJson, topHelp } from './help';
import { type Io, processIo } from './io';
import { parseArgv, type Parsed, wantsJson } from './parse';
import { printable } from './render';
import { runOnHosts, splitHosts } from './fanout';

/** Run argv (the words after `pmon3`); resolves with the exit status (also set as process.exitCode). */
export async function main(argv: readonly string[], makeIo: (json: boolean, noColor: boolean) => Io = processIo): Promise<number> {
  let io: Io | undefined;
  try {
    const split = splitHosts(argv);
    if (split.hosts.length) {
      io = makeIo(wantsJson(split.argv), true);
      return done(await runOnHosts(split.hosts, split.argv, io));
    }
    const parsed: Parsed = parseArgv(argv);
    io = makeIo(parsed.json, parsed.kind !== 'version' && parsed.noColor);
    const width = Math.min(io.look.width ?? 80, 100);
    if (parsed.kind === 'version') {
      print(io, `pmon3 ${VERSION}`, { pmon3: VERSION });
      return done(0);
    }
    if (parsed.kind === 'help') {
      print(io, parsed.command ? commandHelp(parsed.command, width) : topHelp(VERSION, width), helpJson(parsed.command));
      return done(0);
    }
    const handler = HANDLERS[parsed.command.name];
    if (!handler) throw new Error(`no handler for ${parsed.command.name}`);
    const outcome = await handler(parsed, io);
    if (outcome) print(io, outcome.text, outcome.value);
    if (outcome?.failed) {
      for (const l of outcome.failed.lines) io.err(`pmon3: ${printable(l)}\n`);
      return done(outcome.failed.exit);
    }
    return done(0);
  } catch (err) {
    io ??= makeIo(wantsJson(argv), false);
    const wire = toWireError(err);
    io.err(`pmon3: ${printable(wire.message)}\n`);
    if (io.json) io.out(`${JSON.stringify({ error: wire }, undefined, 2)}\n`);
    return done(exitCodeFor(err));
  }
}

function print(io: Io, text: string, value: unknown): void {
  if (io.json) io.out(`${JSON.stringify(value, undefined, 2)}\n`);
  else if (text !== '') io.out(text.endsWith('\n') ? text : `${text}\n`);
}

function done(code: number): number {
  process.exitCode = code;
  return code;
}

/**
 * The CLI as a program: `pmon3 ls | head -1` must end quietly when the reader goes away
 * (EPIPE on stdout), not with a stack trace.
 */
export function runCli(argv: readonly string[]): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  void main(argv);
}

/** PMON3_TRACE_START=1: say on stderr which start-up path served the command (snapshot or dist). */
export function traceStart(how: 'snapshot' | 'dist'): void {
  if (process.env.PMON3_TRACE_START === '1') process.stderr.write(`pmon3: start: ${how}\n`);
}
