/**
 * The file watcher of an app with `watch:` or `auto_upgrade:` (PM2's watch, Firestarter's
 * auto_upgrade): a small program pmond runs as the app's user (never as root for someone
 * else's paths: it sees only what the user may see), which watches the paths and, once they
 * have been quiet for the debounce, asks pmond over its socket — as the user, like `pmon3
 * restart NAME` — to restart or reload the app. It ends when pmond does (its parent changes).
 *
 *   agent --socket PATH --target NAME --action restart|upgrade --debounce MS [--ignore GLOB]... -- PATH...
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '../client/client';
import { globRegex, ignored } from './glob';

interface Args {
  socket: string;
  target: string;
  action: 'restart' | 'upgrade';
  debounceMs: number;
  ignore: RegExp[];
  paths: string[];
}

/** At most this many paths: each is a watch (a recursive one for a directory). */
const MAX_PATHS = 64;
const DEFAULT_IGNORE = ['node_modules', '.git', '*.log'];

function parse(argv: string[]): Args {
  const out: Partial<Args> & { ignore: RegExp[]; paths: string[] } = { ignore: DEFAULT_IGNORE.map(globRegex), paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a}: missing value`);
      return x;
    };
    if (a === '--') {
      out.paths.push(...argv.slice(i + 1));
      break;
    } else if (a === '--socket') out.socket = v();
    else if (a === '--target') out.target = v();
    else if (a === '--action') {
      const x = v();
      if (x !== 'restart' && x !== 'upgrade') throw new Error(`--action ${x}: restart or upgrade`);
      out.action = x;
    } else if (a === '--debounce') out.debounceMs = Number(v());
    else if (a === '--ignore') out.ignore.push(globRegex(v()));
    else throw new Error(`${a}: unknown flag`);
  }
  if (!out.socket || !out.target || !out.action || !Number.isFinite(out.debounceMs) || out.paths.length === 0) throw new Error('usage: agent --socket PATH --target NAME --action restart|upgrade --debounce MS [--ignore GLOB]... -- PATH...');
  if (out.paths.length > MAX_PATHS) throw new Error(`at most ${MAX_PATHS} paths`);
  return out as Args;
}

async function main(): Promise<void> {
  const a = parse(process.argv.slice(2));
  const ppid = process.ppid;
  // pmond gone (killed): this watcher goes too; the next pmond starts its own.
  setInterval(() => {
    if (process.ppid !== ppid) process.exit(0);
  }, 1000).unref();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  const fire = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const c = await Client.connect(a.socket, { timeoutMs: 5000 });
      try {
        if (a.action === 'upgrade') await c.call('upgrade', { target: a.target });
        else await c.call('act', { action: 'restart', targets: [a.target], force: false });
        process.stderr.write(`pmon3 watch: ${a.target}: ${a.action === 'upgrade' ? 'reloaded' : 'restarted'} after a change\n`);
      } finally {
        c.close();
      }
    } catch (e) {
      process.stderr.write(`pmon3 watch: ${a.target}: ${a.action} after a change failed: ${(e as Error).message}\n`);
    } finally {
      running = false;
      if (again) {
        again = false;
        schedule();
      }
    }
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => void fire(), a.debounceMs);
  };
  for (const p of a.paths) {
    let dir = false;
    try {
      dir = fs.statSync(p).isDirectory();
    } catch (e) {
      process.stderr.write(`pmon3 watch: ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; not watched\n`);
      continue;
    }
    try {
      // A file is watched through its directory: an editor's or a deploy's rename replaces it.
      const base = dir ? p : path.dirname(p);
      const only = dir ? undefined : path.basename(p);
      fs.watch(base, { recursive: dir, persistent: true }, (_ev, name) => {
        const rel = name === null ? '' : String(name);
        if (only !== undefined && rel !== only) return;
        if (rel && ignored(rel, a.ignore)) return;
        schedule();
      }).on('error', (e) => process.stderr.write(`pmon3 watch: ${p}: ${e.message}\n`));
    } catch (e) {
      process.stderr.write(`pmon3 watch: ${p}: ${(e as Error).message}; not watched\n`);
    }
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`pmon3 watch: ${(e as Error).message}\n`);
  process.exit(2);
});
