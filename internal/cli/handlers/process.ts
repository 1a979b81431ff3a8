/** Commands that change processes: exec, stop, start, restart, del, reset, kill, init, drop. */
import type { ProcessSummary, ProcessView } from '../../protocol/methods';
import { execParams } from '../args';
import { processTable } from '../render';
import { withClient } from '../session';
import { arg, bool, type Handler, list, type Outcome, str } from './types';

const one = (p: ProcessView, look: Parameters<typeof processTable>[1]): Outcome => ({ text: processTable([p], look), value: p });
const many = (ps: ProcessSummary[], look: Parameters<typeof processTable>[1]): Outcome => ({ text: processTable(ps, look), value: ps });
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
    },
    io.cwd,
    io.env.PATH,
  );
  return one(await withClient((c) => c.call('exec', params)), io.look);
};

export const stop: Handler = async (r, io) => {
  const target = arg(r, 'target')!;
  const force = bool(r, 'force');
  if (target === 'all') return many(await withClient((c) => c.call('act', { action: 'stop', targets: ['all'], force })), io.look);
  return one(await withClient((c) => c.call('stop', { target, force })), io.look);
};

/** start (not counted) and restart (counted as a restart). */
const restartWith =
  (count: boolean): Handler =>
  async (r, io) => {
    const target = arg(r, 'target')!;
    if (target === 'all') {
      return many(await withClient((c) => c.call('act', { action: count ? 'restart' : 'start', targets: ['all'], force: false })), io.look);
    }
    return one(await withClient((c) => c.call('restart', { target, count })), io.look);
  };
export const start = restartWith(false);
export const restart = restartWith(true);

export const del: Handler = async (r) => {
  const target = arg(r, 'target')!;
  const force = bool(r, 'force');
  if (target === 'all') {
    const ps = await withClient((c) => c.call('act', { action: 'delete', targets: ['all'], force }));
    return { text: `deleted ${plural(ps.length)}`, value: ps };
  }
  const p = await withClient((c) => c.call('delete', { target, force }));
  return { text: `deleted ${p.name} (id ${p.id})`, value: p };
};

export const reset: Handler = async (r, io) => {
  const target = arg(r, 'target');
  return many(await withClient((c) => c.call('reset', target === undefined || target === 'all' ? {} : { target })), io.look);
};

export const kill: Handler = async (r, io) => many(await withClient((c) => c.call('kill', { force: bool(r, 'force') })), io.look);

export const init: Handler = async (_r, io) => many(await withClient((c) => c.call('init', {})), io.look);

export const drop: Handler = async (r) => {
  const ps = await withClient((c) => c.call('drop', { force: bool(r, 'force') }));
  return { text: `deleted ${plural(ps.length)}`, value: ps };
};
