/**
 * The live views: attach (a process's output as it comes), monit (PM2's full-screen monitor)
 * and shell (fib-runner's runnerctl: an interactive prompt).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProcessView } from '../../protocol/methods';
import { invalidArgument } from '../../protocol/errors';
import { splitArgs } from '../../words';
import { formatBytes, printable } from '../render';
import { withClient } from '../session';
import { commandWords } from '../table';
import { endWithReader, logs, Prefixer } from './logs';
import { arg, bool, type Handler } from './types';

/**
 * attach TARGET: its output (every instance's, each line prefixed) from now on, until Ctrl-C.
 * --stdin: also what you type (or pipe) goes to its stdin — only yours, only an app with
 * stdin: true (pmond checks both); the end of your input is not an EOF for it.
 */
export const attach: Handler = async (r, io) => {
  const target = arg(r, 'target')!;
  if (!bool(r, 'stdin')) return logs({ ...r, args: { targets: [target] }, flags: { ...r.flags, follow: true, lines: 0 } }, io);
  await withClient(async (c) => {
    await c.require('input', 'attach --stdin');
    // Refused at once (not yours, no stdin: true, not running), before anything is read from you.
    await c.call('input', { target, data: '' });
    endWithReader(c);
    const prefixer = new Prefixer(io.out, io.look, false);
    let sending = false;
    // What is read is sent only once its output is followed (the first event without a source).
    const forward = (): void => {
      if (sending) return;
      sending = true;
      process.stdin.on('data', (b: Buffer) => {
        process.stdin.pause();
        void (async () => {
          const text = b.toString('utf8');
          for (let i = 0; i < text.length; i += 16384) {
            try {
              await c.call('input', { target, data: text.slice(i, i + 16384) });
            } catch (e) {
              io.err(`pmon3: attach: ${printable((e as Error).message)}\n`);
            }
          }
          process.stdin.resume();
        })();
      });
    };
    await c.call('logs', { targets: [target], lines: 0, follow: true }, {
      onEvent: (data, src) => {
        if (!src) return forward();
        if (src.error !== undefined) return void io.err(`pmon3: attach: ${printable(src.name)}: ${printable(src.error)}\n`);
        if (io.json) io.out(`${JSON.stringify({ id: src.id, name: src.name, data })}\n`);
        else prefixer.push(data, src);
      },
    });
  });
  return undefined;
};

const SPARK = '▁▂▃▄▅▆▇█';
/** The newest values as a sparkline (scaled to max, or to their own maximum). */
export function sparkline(values: readonly number[], max?: number): string {
  const top = max ?? Math.max(1e-9, ...values);
  return values.map((v) => SPARK[Math.max(0, Math.min(7, Math.round((v / top) * 7)))]).join('');
}

const HISTORY = 30;

/** monit: the process table with CPU and memory sparklines and the selected one's log; q quits. */
export const monit: Handler = async (_r, io) => {
  if (io.json) {
    const list = await withClient((c) => c.listAll());
    return { text: '', value: { processes: list } };
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) throw invalidArgument('monit: needs a terminal (stdin and stdout); for scripts: ls --json, or monit --json for one snapshot');
  const hist = new Map<number, { cpu: number[]; mem: number[] }>();
  let selected = 0;
  let rows: ProcessView[] = [];
  let logText = '';
  let error = '';
  const out = (s: string): boolean => process.stdout.write(s);
  out('\x1b[?1049h\x1b[?25l');
  const restore = (): void => {
    out('\x1b[?25h\x1b[?1049l');
  };
  process.stdin.setRawMode(true);
  process.stdin.resume();
  return withClient(async (c) => {
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const quit = (): void => {
        clearTimeout(timer);
        process.stdin.setRawMode(false);
        process.stdin.pause();
        restore();
        resolve();
      };
      process.stdin.on('data', (b: Buffer) => {
        const k = b.toString();
        if (k === 'q' || k === '\x03' || k === '\x1b') return quit();
        if (k === '\x1b[A' || k === 'k') selected = Math.max(0, selected - 1);
        if (k === '\x1b[B' || k === 'j') selected = Math.min(Math.max(0, rows.length - 1), selected + 1);
        draw();
      });
      const draw = (): void => {
        const cols = process.stdout.columns || 80;
        const lines = process.stdout.rows || 24;
        const tableRows = Math.max(3, Math.floor((lines - 4) / 2));
        const nameW = Math.min(24, Math.max(4, ...rows.map((p) => p.name.length)));
        const screen: string[] = [];
        screen.push(`\x1b[1mpmon3 monit\x1b[0m  ${rows.length} processes   ↑/↓ select   q quit${error ? `   \x1b[31m${printable(error).slice(0, cols - 40)}\x1b[0m` : ''}`);
        screen.push(`${'NAME'.padEnd(nameW)}  ${'STATUS'.padEnd(10)} ${'RST'.padStart(4)}  ${'CPU'.padStart(6)} ${''.padEnd(HISTORY)}  ${'MEM'.padStart(8)} ${''.padEnd(HISTORY)}`);
        const first = Math.max(0, Math.min(selected - tableRows + 1, rows.length - tableRows));
        for (const [i, p] of rows.slice(first, first + tableRows).entries()) {
          const h = hist.get(p.id) ?? { cpu: [], mem: [] };
          const line = `${printable(p.name).slice(0, nameW).padEnd(nameW)}  ${p.status.padEnd(10)} ${String(p.restarts).padStart(4)}  ${(p.cpu === null ? '-' : `${p.cpu.toFixed(1)}%`).padStart(6)} ${sparkline(h.cpu, 100).padEnd(HISTORY)}  ${formatBytes(p.memory).padStart(8)} ${sparkline(h.mem).padEnd(HISTORY)}`;
          screen.push(first + i === selected ? `\x1b[7m${line.slice(0, cols)}\x1b[0m` : line.slice(0, cols));
        }
        const sel = rows[selected];
        screen.push(`\x1b[1m── ${sel ? `log of ${printable(sel.name)}` : 'no process'} ${'─'.repeat(Math.max(0, cols - 20))}\x1b[0m`.slice(0, cols + 8));
        const room = Math.max(1, lines - screen.length - 1);
        const logLines = logText.split('\n').filter((l, i, a) => i < a.length - 1 || l !== '').slice(-room);
        for (const l of logLines) screen.push(printable(l).slice(0, cols));
        out(`\x1b[H\x1b[2J${screen.join('\r\n')}`);
      };
      const tick = async (): Promise<void> => {
        try {
          rows = await c.listAll();
          for (const p of rows) {
            const h = hist.get(p.id) ?? { cpu: [], mem: [] };
            h.cpu.push(p.cpu ?? 0);
            h.mem.push(p.memory ?? 0);
            if (h.cpu.length > HISTORY) h.cpu.shift(), h.mem.shift();
            hist.set(p.id, h);
          }
          for (const id of hist.keys()) if (!rows.some((p) => p.id === id)) hist.delete(id);
          selected = Math.min(selected, Math.max(0, rows.length - 1));
          const sel = rows[selected];
          logText = sel ? (await c.call('log', { target: String(sel.id), lines: 50, follow: false })).text : '';
          error = '';
        } catch (e) {
          error = (e as Error).message;
        }
        draw();
        timer = setTimeout(() => void tick(), 1000);
      };
      void tick();
    });
    return undefined;
  });
};

/** Where the shell keeps its history: $XDG_STATE_HOME/pmon3/shell_history (mode 0600), the last MAX_HISTORY lines. */
const MAX_HISTORY = 1000;
function historyFile(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_STATE_HOME || path.join(env.HOME || '/', '.local', 'state');
  return path.join(base, 'pmon3', 'shell_history');
}

/**
 * shell: a prompt that runs pmon3 commands (without the `pmon3`), one at a time, each as the CLI
 * itself with its own exit status; `help`, `exit`/`quit` or Ctrl-D. Completes command words and
 * the names of your processes. Without a terminal it reads commands from stdin (a script).
 */
export const shell: Handler = async (_r, io) => {
  const readline = require('node:readline') as typeof import('node:readline');
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const tty = !!process.stdin.isTTY;
  const file = historyFile(io.env);
  let history: string[] = [];
  if (tty) {
    try {
      history = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-MAX_HISTORY).reverse();
    } catch {
      /* none yet */
    }
  }
  let names: string[] = [];
  const refreshNames = async (): Promise<void> => {
    try {
      names = (await withClient((c) => c.listAll())).map((p) => p.name);
    } catch {
      /* pmond down: commands still complete */
    }
  };
  await refreshNames();
  const words = [...commandWords(), 'exit', 'quit'];
  const rl = readline.createInterface({
    input: process.stdin,
    output: tty ? process.stdout : undefined,
    terminal: tty,
    history,
    historySize: MAX_HISTORY,
    removeHistoryDuplicates: true,
    completer: (line: string): [string[], string] => {
      const parts = line.split(/\s+/);
      const last = parts[parts.length - 1] ?? '';
      const pool = parts.length <= 1 ? words : names;
      const hits = pool.filter((w) => w.startsWith(last));
      return [hits.length ? hits : pool, last];
    },
  });
  const bin = path.join(path.dirname(process.argv[1] ?? __filename), 'pmon3');
  let last = 0;
  if (tty) rl.setPrompt('pmon3> ');
  const run = (argv: string[]): Promise<number> =>
    new Promise((resolve) => {
      const child = spawn(bin, argv, { stdio: ['inherit', 'inherit', 'inherit'], env: io.env });
      child.on('error', () => resolve(127));
      child.on('close', (code) => resolve(code ?? 1));
    });
  if (tty) rl.prompt();
  for await (const line of rl) {
    let argv: string[];
    try {
      argv = splitArgs(line.trim());
    } catch (e) {
      io.err(`pmon3: ${(e as Error).message}\n`);
      if (tty) rl.prompt();
      continue;
    }
    if (argv[0] === 'exit' || argv[0] === 'quit') break;
    if (argv[0] === 'pmon3') argv.shift();
    if (argv.length) {
      if (argv[0] === 'shell') io.err('pmon3: already in the shell\n');
      else {
        rl.pause();
        last = await run(argv);
        rl.resume();
        await refreshNames();
      }
    }
    if (tty) rl.prompt();
  }
  rl.close();
  if (tty) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const lines = (rl as unknown as { history: string[] }).history.slice(0, MAX_HISTORY).reverse();
      fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    } catch {
      /* a history that cannot be kept is no error */
    }
  }
  process.exitCode = last;
  return undefined;
};
