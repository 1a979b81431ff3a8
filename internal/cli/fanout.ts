/**
 * One command on several hosts: `--host NAME` (repeatable) or supervisor-rs's tail
 * `on H1 on "H2, H3"`. Each host's run is this CLI again, with PMON3_HOST naming that host
 * (session.ts then speaks to it over its signed HTTP API), all at once. Their output is merged:
 * every line gets the host's name as its first column as it arrives (stderr's on stderr), and
 * each host that failed gets a line with its exit status. --json: one array of
 * {host, exit, result|error}. The exit status is 0 when every host's was, else the first failed
 * host's (in the order given). Modules with node:crypto or child_process are required where they
 * are used, so that the start-up snapshot (snapshot.ts) holds none of them.
 */
import * as path from 'node:path';
import { invalidArgument } from '../protocol/errors';
import type { Io } from './io';

export const MAX_HOSTS = 64;

/** argv without its host words, and the hosts they named (none: run here). */
export function splitHosts(argv: readonly string[]): { hosts: string[]; argv: string[] } {
  const dd = argv.indexOf('--');
  const head = dd < 0 ? [...argv] : argv.slice(0, dd);
  const tail = dd < 0 ? [] : argv.slice(dd);
  const words: string[] = [];
  const kept: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const w = head[i]!;
    if (w === '--host') {
      const v = head[i + 1];
      if (v === undefined || v.startsWith('-')) throw invalidArgument('--host: a host name is missing');
      words.push(v);
      i++;
    } else if (w.startsWith('--host=')) words.push(w.slice(7));
    else kept.push(w);
  }
  const ons: string[] = [];
  while (kept.length > 2 && kept[kept.length - 2] === 'on') {
    ons.unshift(kept.pop()!);
    kept.pop();
  }
  if (!words.length && !ons.length) return { hosts: [], argv: [...argv] };
  const { hostNames } = require('../client/hosts') as typeof import('../client/hosts');
  const hosts = [...new Set([...words, ...ons].flatMap(hostNames))];
  if (hosts.length > MAX_HOSTS) throw invalidArgument(`${hosts.length} hosts named; at most ${MAX_HOSTS} at once`);
  return { hosts, argv: [...kept, ...tail] };
}

/** The launcher of this tree (bin/pmon3 beside bin/pmon3.js). */
function launcher(): string {
  return path.join(path.dirname(process.argv[1] ?? __filename), 'pmon3');
}

interface HostRun {
  host: string;
  exit: number;
  stdout: string;
  stderr: string;
}

export async function runOnHosts(hosts: string[], argv: string[], io: Io): Promise<number> {
  // Required here: child_process stays out of the start-up snapshot.
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  const width = Math.max(4, ...hosts.map((h) => h.length));
  const pad = (h: string): string => h.padEnd(width + 2);
  const runs = await Promise.all(
    hosts.map(
      (host) =>
        new Promise<HostRun>((resolve) => {
          const run: HostRun = { host, exit: 1, stdout: '', stderr: '' };
          const child = spawn(launcher(), argv, { env: { ...io.env, PMON3_HOST: host, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
          const lines = (to: 'out' | 'err') => {
            let part = '';
            return (b: Buffer): void => {
              const text = b.toString('utf8');
              if (io.json) {
                if (to === 'out') run.stdout += text;
                else run.stderr += text;
                return;
              }
              part += text;
              let i: number;
              while ((i = part.indexOf('\n')) >= 0) {
                const line = part.slice(0, i);
                part = part.slice(i + 1);
                io[to](`${pad(host)}${line}\n`);
              }
            };
          };
          child.stdout.on('data', lines('out'));
          child.stderr.on('data', lines('err'));
          child.on('error', (e) => {
            run.stderr += e.message;
            resolve(run);
          });
          child.on('close', (code, signal) => {
            run.exit = code ?? (signal ? 128 : 1);
            resolve(run);
          });
        }),
    ),
  );
  if (io.json) {
    const out = runs.map((r) => {
      let v: unknown = null;
      try {
        v = r.stdout.trim() ? JSON.parse(r.stdout) : null;
      } catch {
        v = r.stdout;
      }
      const err = v && typeof v === 'object' && 'error' in (v as object) ? (v as { error: unknown }).error : r.exit ? { code: 'UNAVAILABLE', message: r.stderr.trim().split('\n').pop() ?? '' } : undefined;
      return { host: r.host, exit: r.exit, ...(err ? { error: err } : { result: v }) };
    });
    io.out(`${JSON.stringify(out, undefined, 2)}\n`);
  } else {
    for (const r of runs) if (r.exit) io.err(`${pad(r.host)}exit ${r.exit}\n`);
  }
  return runs.find((r) => r.exit !== 0)?.exit ?? 0;
}
