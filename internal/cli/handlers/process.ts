/** Commands that change processes: exec, stop, start, restart, del, reset, kill, init, drop. */
import { EXIT_CODES, type ErrorCode, PmonError } from '../../protocol/errors';
import * as path from 'node:path';
import type { Params, ProcessSummary, ProcessView } from '../../protocol/methods';
import { splitArgs } from '../../words';
import { execParams } from '../args';
import { parseArgv } from '../parse';
import { processTable } from '../render';
import { withClient } from '../session';
import { arg, bool, type Handler, list, type Outcome, str } from './types';

const one = (p: ProcessView, look: Parameters<typeof processTable>[1]): Outcome => ({ text: processTable([p], look), value: p });
export const many = (ps: ProcessSummary[], look: Parameters<typeof processTable>[1]): Outcome => {
  const bad = ps.filter((p) => p.error !== undefined);
  const code = bad[0]?.error_code;
  const exit = code !== undefined && code in EXIT_CODES ? EXIT_CODES[code as ErrorCode] : EXIT_CODES.INTERNAL;
  return { text: processTable(ps, look), value: ps, ...(bad.length ? { failed: { lines: bad.map((p) => `${p.name}: ${p.error}`), exit } } : {}) };
};

/**
 * A selector that may name several processes (all, @group, an app's instances) goes through act;
 * one that names one process through the single method, whose reply is its whole view. An app
 * name turns out to name several when pmond says so (INVALID_ARGUMENT "... say which, as name:N").
 */
const severalish = (t: string): boolean => t === 'all' || t.startsWith('@');
const isSeveral = (e: unknown): boolean => e instanceof PmonError && e.code === 'INVALID_ARGUMENT' && /names \d+ processes .*say which, as name:N/.test(e.message);
async function oneOrMany<T>(target: string, single: () => Promise<T>, act: () => Promise<ProcessSummary[]>): Promise<{ one: T } | { many: ProcessSummary[] }> {
  if (severalish(target)) return { many: await act() };
  try {
    return { one: await single() };
  } catch (e) {
    if (!isSeveral(e)) throw e;
    return { many: await act() };
  }
}
const plural = (n: number): string => `${n} process${n === 1 ? '' : 'es'}`;

export const exec: Handler = async (r, io) => {
  const params = execParams(
    {
      binary: arg(r, 'binary')!,
      extra: r.rest,
      name: str(r, 'name'),
      args: str(r, 'args'),
      envVars: list(r, 'env-vars'),
      user: str(r, 'user'),
      log: str(r, 'log'),
      logDir: str(r, 'log-dir'),
      cwd: str(r, 'cwd'),
      interpreter: str(r, 'interpreter'),
      noAutorestart: bool(r, 'no-autorestart'),
      groups: str(r, 'groups'),
      dependencies: str(r, 'dependencies'),
      instances: r.flags.instances as number | undefined,
    },
    io.cwd,
    io.env.PATH,
  );
  return withClient(async (c) => {
    if (params.groups || params.dependencies || params.instances) await c.require('apps', 'exec -g/--dependencies/-i');
    return one(await c.call('exec', params), io.look);
  });
};

export const stop: Handler = async (r, io) => {
  const target = arg(r, 'target')!;
  const force = bool(r, 'force');
  return withClient(async (c) => {
    const out = await oneOrMany(target, () => c.call('stop', { target, force }), () => c.call('act', { action: 'stop', targets: [target], force }));
    return 'one' in out ? one(out.one, io.look) : many(out.many, io.look);
  });
};

/** The Go pmon3's restart flags as the changes `restart` takes, or undefined if none is given. */
function restartChanges(r: Parameters<Handler>[0], here: string): NonNullable<Params<'restart'>['changes']> | undefined {
  const a = str(r, 'args');
  const u = str(r, 'user');
  const l = str(r, 'log');
  const d = str(r, 'log-dir');
  const deps = str(r, 'dependencies');
  const ch = {
    ...(a !== undefined ? { args: splitArgs(a) } : {}),
    ...(u !== undefined ? { user: u } : {}),
    ...(l !== undefined ? { log: path.resolve(here, l) } : {}),
    ...(d !== undefined ? { log_dir: path.resolve(here, d) } : {}),
    ...(bool(r, 'no-autorestart') ? { auto_restart: false as const } : {}),
    ...(deps !== undefined ? { dependencies: deps.split(',').map((w) => w.trim()).filter((w) => w !== '') } : {}),
  };
  return Object.keys(ch).length ? ch : undefined;
}

/** start (not counted) and restart (counted as a restart). */
const restartWith =
  (count: boolean): Handler =>
  async (r, io) => {
    const target = arg(r, 'target')!;
    const changes = restartChanges(r, io.cwd);
    if (changes) {
      return withClient(async (c) => {
        await c.require('apps', `${count ? 'restart' : 'start'} with -a/-u/-l/-d/-n/--dependencies`);
        return one(await c.call('restart', { target, count, changes }), io.look);
      });
    }
    return withClient(async (c) => {
      const action = count ? 'restart' : 'start';
      const out = await oneOrMany(target, () => c.call('restart', { target, count }), () => c.call('act', { action, targets: [target], force: false }));
      return 'one' in out ? one(out.one, io.look) : many(out.many, io.look);
    });
  };
export const start = restartWith(false);
export const restart = restartWith(true);

export const del: Handler = async (r, io) => {
  const target = arg(r, 'target')!;
  const force = bool(r, 'force');
  return withClient(async (c) => {
    const out = await oneOrMany(target, () => c.call('delete', { target, force }), () => c.call('act', { action: 'delete', targets: [target], force }));
    if ('one' in out) return { text: `deleted ${out.one.name} (id ${out.one.id})`, value: out.one };
    const m = many(out.many, io.look);
    return { ...m, text: `deleted ${plural(out.many.filter((p) => p.error === undefined).length)}` };
  });
};

export const reset: Handler = async (r, io) => {
  const target = arg(r, 'target');
  return many(await withClient((c) => c.call('reset', target === undefined || target === 'all' ? {} : { target })), io.look);
};

export const kill: Handler = async (r, io) => many(await withClient((c) => c.call('kill', { force: bool(r, 'force') })), io.look);

export const init: Handler = async (r, io) =>
  withClient(async (c) => {
    if (!bool(r, 'process-config-only')) return many(await c.call('init', {}), io.look);
    await c.require('apps', 'init -c');
    return many(await c.call('init', { config_only: true }), io.look);
  });

export const drop: Handler = async (r) => {
  const ps = await withClient((c) => c.call('drop', { force: bool(r, 'force') }));
  return { text: `deleted ${plural(ps.length)}`, value: ps };
};

/** trystart (feature tasks): each process the selector names. */
export const trystart: Handler = async (r, io) =>
  many(
    await withClient(async (c) => {
      await c.require('tasks', 'trystart');
      return c.call('trystart', { target: arg(r, 'target')! });
    }),
    io.look,
  );

/**
 * run NAME (feature tasks): each process the selector names, now. A NAME that names no process
 * of yours is the Go pmon3's `run BINARY` (exec's alias): that is what runs then.
 */
export const run: Handler = async (r, io) => {
  const target = arg(r, 'target')!;
  try {
    return many(
      await withClient(async (c) => {
        await c.require('tasks', 'run');
        return c.call('run', { target });
      }),
      io.look,
    );
  } catch (e) {
    if (!(e instanceof PmonError) || e.code !== 'NOT_FOUND' || !e.message.startsWith(`process "${target}" not found`)) throw e;
    const asExec = parseArgv(['exec', target]);
    if (asExec.kind !== 'run') throw e;
    return exec(asExec, io);
  }
};
