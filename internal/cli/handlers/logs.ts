/** Reading logs: log (the last lines), logf (follow one), logs (several, each line prefixed with its name). */
import * as fs from 'node:fs';
import type { PmondClient } from '../../client/client';
import type { EventSource, LogFilesInfo } from '../../protocol/methods';
import { invalidArgument } from '../../protocol/errors';
import type { Io } from '../io';
import { type Look, paint, printable } from '../render';
import { cliNative, withClient } from '../session';
import { arg, bool, type Handler, int, type Outcome, type Run } from './types';

export const log: Handler = async (r, io) => {
  // `log rotate [NAME]` (a process named rotate: by its id).
  if (arg(r, 'target') === 'rotate') return rotate(arg(r, 'name'));
  if (arg(r, 'name') !== undefined) throw invalidArgument(`log: unexpected argument "${arg(r, 'name')!.slice(0, 40)}" (usage: pmon3 log TARGET [flags], or pmon3 log rotate [NAME])`);
  if (bool(r, 'all')) return logAll(r, io);
  const crash = bool(r, 'crash');
  const res = await withClient(async (c) => {
    if (crash) await c.require('tasks', 'log --crash');
    return c.call('log', { target: arg(r, 'target')!, lines: int(r, 'lines'), follow: false, ...(crash ? { crash: true } : {}) });
  });
  // Log text is printed as it is, like cat: it is the user's own program's output.
  return { text: res.text.endsWith('\n') ? res.text.slice(0, -1) : res.text, value: res };
};

/** log rotate [NAME]: what rotated, one line each; a NAME that could not: the error. */
async function rotate(name: string | undefined): Promise<Outcome> {
  const res = await withClient(async (c) => {
    await c.require('log_rotate', 'log rotate');
    return c.call('log_rotate', name === undefined ? {} : { target: name });
  });
  const lines = [...res.rotated.map((n) => `${printable(n)}: rotated`), ...res.skipped.map((s) => `${printable(s.name)}: not rotated: ${printable(s.why)}`)];
  return { text: lines.length ? lines.join('\n') : 'no process of yours has a logger (rotate: or timestamps: in its app)', value: res };
}

/** What `log -a` skipped and cut: one line each on stderr (names come from users: escaped). */
function warnFiles(io: Io, cmd: string, info: Partial<LogFilesInfo>): void {
  for (const s of info.skipped ?? []) io.err(`pmon3: ${cmd}: skipped ${printable(s.name)}: ${printable(s.why)}\n`);
  for (const n of info.notes ?? []) io.err(`pmon3: ${cmd}: ${printable(n)}\n`);
}

/**
 * log -a: the rotated copies oldest first, then the current log, streamed as pmond reads them
 * (they may be far larger than one reply). --json: one object, the text of them all together.
 */
async function logAll(r: Run, io: Io): Promise<Outcome | undefined> {
  const parts: string[] = [];
  const res = await withClient(async (c) => {
    await c.require('log.all', 'log -a');
    return c.call('log', { target: arg(r, 'target')!, lines: int(r, 'lines'), follow: false, all: true }, { onEvent: (d) => (io.json ? parts.push(d) : io.out(d)) });
  });
  const info = { files: res.files ?? [], skipped: res.skipped ?? [], notes: res.notes ?? [] };
  if (io.json) return { text: '', value: { path: res.path, text: parts.join(''), ...info } };
  warnFiles(io, 'log', info);
  return undefined;
}

/**
 * End quietly when the reader goes away (`pmon3 logf x | head -1`): on the next write (EPIPE)
 * or, while the log is quiet, when a poll of stdout says its reader closed. Ctrl-C ends with 0.
 */
export function endWithReader(c: PmondClient): void {
  const stop = (): void => {
    c.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.on('error', stop);
  if (stdoutIsPipe()) {
    const native = cliNative();
    setInterval(() => native.pollErr(1) && stop(), 200).unref();
  }
}

/** Whether fd 1 is a pipe or a socket (whose reader can go away). */
function stdoutIsPipe(): boolean {
  try {
    const st = fs.fstatSync(1);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

export const logf: Handler = async (r, io) => {
  await withClient(async (c) => {
    endWithReader(c);
    // With --json each chunk is one JSON line: {"data": "..."}.
    // -a: the rotated copies and the current log first; then one line (with --json, one
    // {"files", "skipped", "notes"} line) saying what was read, skipped and cut.
    const all = bool(r, 'all');
    if (all) await c.require('log.all', 'logf -a');
    await c.call(
      'log',
      { target: arg(r, 'target')!, lines: int(r, 'lines'), follow: true, ...(all ? { all } : {}) },
      {
        onEvent: (d) => io.out(io.json ? `${JSON.stringify({ data: d })}\n` : d),
        onFiles: (info) => (io.json ? io.out(`${JSON.stringify(info)}\n`) : warnFiles(io, 'logf', info)),
      },
    );
  });
  return undefined;
};

const PREFIX_COLORS = ['cyan', 'green', 'yellow', 'bold'] as const;

/**
 * Turns chunks of several logs into whole lines, each prefixed with its process's name
 * (`api    | text`), the names padded to the widest seen so far and coloured on a terminal.
 * Control characters in names are escaped; the log text itself is printed as it is.
 */
export class Prefixer {
  private readonly partial = new Map<number, string>();
  private width = 0;
  private readonly colors = new Map<number, (typeof PREFIX_COLORS)[number]>();
  /** Lines held until flush (a read that ends: every line gets the final padding). */
  private readonly held: Array<[EventSource, string]> = [];

  /** buffer: hold lines until flush(); otherwise print each line as it is complete (following). */
  constructor(
    private readonly write: (text: string) => void,
    private readonly look: Look,
    private readonly buffer: boolean,
  ) {}

  push(data: string, src: EventSource): void {
    const text = (this.partial.get(src.id) ?? '') + data;
    const lines = text.split('\n');
    this.partial.set(src.id, lines.pop()!);
    for (const l of lines) this.line(src, l);
  }

  /** Print every unfinished line (at the end of a non-following read). */
  flush(sources: EventSource[]): void {
    for (const s of sources) {
      const rest = this.partial.get(s.id);
      if (rest) this.line(s, rest);
      this.partial.delete(s.id);
    }
    const held = this.held.splice(0);
    for (const [src, l] of held) this.print(src, l);
  }

  private line(src: EventSource, l: string): void {
    this.width = Math.max(this.width, printable(src.name).length);
    if (!this.colors.has(src.id)) this.colors.set(src.id, PREFIX_COLORS[this.colors.size % PREFIX_COLORS.length]!);
    if (this.buffer) this.held.push([src, l]);
    else this.print(src, l);
  }

  private print(src: EventSource, l: string): void {
    this.write(`${paint(this.look, this.colors.get(src.id)!, printable(src.name).padEnd(this.width))} | ${l}\n`);
  }
}

export const logs: Handler = async (r, io) => {
  const targets = (r.args.targets as string[] | undefined) ?? [];
  const follow = bool(r, 'follow');
  const lines = int(r, 'lines');
  const prefixer = new Prefixer(io.out, io.look, !follow);
  const seen: EventSource[] = [];
  const warn = (s: { name: string; error?: string }): void => io.err(`pmon3: logs: ${printable(s.name)}: ${printable(s.error ?? '')}\n`);
  const onEvent = (data: string, src?: EventSource): void => {
    if (!src) return;
    if (src.error !== undefined) return warn(src);
    if (!seen.some((s) => s.id === src.id)) seen.push(src);
    if (io.json) io.out(`${JSON.stringify({ id: src.id, name: src.name, data })}\n`);
    else prefixer.push(data, src);
  };
  await withClient(async (c) => {
    if (follow) endWithReader(c);
    const res = await c.call('logs', { targets, lines, follow }, { onEvent });
    prefixer.flush(seen);
    if (!follow) for (const s of res.skipped) warn(s);
  });
  return undefined;
};

