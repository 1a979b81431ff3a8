/**
 * CPU and memory history per instance, in memory (fib-runner's `.stat`): at each of RESOLUTIONS
 * (minutes per point) the last POINTS points, each the mean of the samples in its span. A
 * sampler (Sampler below) feeds it every interval from the process table. Bounded: POINTS per
 * resolution per instance in Float32Arrays (6 × 60 × 2 × 4 bytes ≈ 2.9 KiB an instance), only
 * for instances in the table (one that is gone is forgotten at the next sample), and at most
 * MAX_SERIES instances.
 */
export const RESOLUTIONS = [1, 5, 15, 60, 240, 720] as const;
export type Resolution = (typeof RESOLUTIONS)[number];
export const POINTS = 60;
export const MAX_SERIES = 20_000;

interface Ring {
  /** The bucket number (time / span) of each slot's content, -1 for none. */
  slot: Float64Array;
  cpuSum: Float32Array;
  memSum: Float32Array;
  n: Uint16Array;
}

interface Series {
  name: string;
  rings: Ring[];
}

function ring(): Ring {
  return { slot: new Float64Array(POINTS).fill(-1), cpuSum: new Float32Array(POINTS), memSum: new Float32Array(POINTS), n: new Uint16Array(POINTS) };
}

export interface Sample {
  id: number;
  name: string;
  cpu: number | null;
  memory: number | null;
}

export class History {
  private readonly series = new Map<number, Series>();

  /** One sample of every instance in the table at time now (ms); instances not in it are forgotten. */
  add(now: number, samples: readonly Sample[]): void {
    const seen = new Set<number>();
    for (const s of samples) {
      seen.add(s.id);
      let se = this.series.get(s.id);
      if (!se) {
        if (this.series.size >= MAX_SERIES) continue;
        se = { name: s.name, rings: RESOLUTIONS.map(ring) };
        this.series.set(s.id, se);
      }
      se.name = s.name;
      if (s.cpu === null && s.memory === null) continue;
      RESOLUTIONS.forEach((r, i) => {
        const bucket = Math.floor(now / (r * 60_000));
        const k = bucket % POINTS;
        const g = se!.rings[i]!;
        if (g.slot[k] !== bucket) {
          g.slot[k] = bucket;
          g.cpuSum[k] = 0;
          g.memSum[k] = 0;
          g.n[k] = 0;
        }
        if (g.n[k]! < 65535) {
          g.cpuSum[k] = g.cpuSum[k]! + (s.cpu ?? 0);
          g.memSum[k] = g.memSum[k]! + (s.memory ?? 0);
          g.n[k] = g.n[k]! + 1;
        }
      });
    }
    for (const id of this.series.keys()) if (!seen.has(id)) this.series.delete(id);
  }

  /** The last POINTS points of id at resolution res, oldest first, ending with the current span; null where nothing was sampled. */
  get(id: number, res: Resolution, now: number): { cpu: Array<number | null>; memory: Array<number | null> } | null {
    const se = this.series.get(id);
    if (!se) return null;
    const i = RESOLUTIONS.indexOf(res);
    const g = se.rings[i]!;
    const last = Math.floor(now / (res * 60_000));
    const cpu: Array<number | null> = [];
    const memory: Array<number | null> = [];
    for (let b = last - POINTS + 1; b <= last; b++) {
      const k = ((b % POINTS) + POINTS) % POINTS;
      if (g.slot[k] === b && g.n[k]! > 0) {
        cpu.push(Math.round((g.cpuSum[k]! / g.n[k]!) * 10) / 10);
        memory.push(Math.round(g.memSum[k]! / g.n[k]!));
      } else {
        cpu.push(null);
        memory.push(null);
      }
    }
    return { cpu, memory };
  }

  get size(): number {
    return this.series.size;
  }
}

/**
 * Feeds a History every intervalMs from read() (the whole table with usage), until stop().
 * A read that fails is skipped (the next one tries again); one that takes longer than the
 * interval delays the next, never overlaps it.
 */
export class Sampler {
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly history: History,
    private readonly read: () => Promise<Sample[]>,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    const tick = async (): Promise<void> => {
      try {
        this.history.add(this.now(), await this.read());
      } catch {
        /* the next tick tries again */
      }
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.intervalMs).unref();
    };
    this.timer = setTimeout(() => void tick(), Math.min(1000, this.intervalMs)).unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
