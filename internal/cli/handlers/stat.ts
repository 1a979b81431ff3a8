/** stat TARGET cpu|rss [RES]: an ASCII chart of its history (fib-runner's `.stat`). */
import { invalidArgument } from '../../protocol/errors';
import { chart } from '../chart';
import { formatBytes } from '../render';
import { withClient } from '../session';
import { arg, type Handler } from './types';

const RES = [1, 5, 15, 60, 240, 720] as const;

export const stat: Handler = async (r) => {
  const target = arg(r, 'target')!;
  const metric = arg(r, 'metric') ?? 'cpu';
  const resWord = arg(r, 'resolution') ?? '1';
  const res = Number(resWord) as (typeof RES)[number];
  if (!RES.includes(res)) throw invalidArgument(`stat: resolution ${JSON.stringify(resWord.slice(0, 32))} is none of ${RES.join(', ')} (minutes per point)`);
  const out = await withClient(async (c) => {
    await c.require('stats', 'stat');
    return c.call('stat', { targets: [target], resolution: res });
  });
  const texts = out.series.map((s) => {
    const values = metric === 'cpu' ? s.cpu : s.memory;
    const body = chart(values, metric === 'cpu' ? (v) => `${v.toFixed(v < 10 ? 1 : 0)}%` : (v) => formatBytes(v), res);
    return `${s.name} (id ${s.id}) ${metric === 'cpu' ? 'CPU' : 'RSS'}, ${res} min per point\n${body}`;
  });
  return { text: texts.join('\n\n'), value: out };
};
