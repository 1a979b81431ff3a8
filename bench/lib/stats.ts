/** Samples of one figure, and how the table prints them. */

/** A measured figure: every sample, in the unit the workload says. */
export interface Figure {
  samples: number[];
  /** Set when the manager cannot do this workload, or the run failed (shown instead of numbers). */
  note?: string;
}

export function figure(samples: number[]): Figure {
  return { samples };
}

export function missing(note: string): Figure {
  return { samples: [], note };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The p-th percentile (0 < p <= 100), nearest rank: the smallest sample with p % of them at or below it. */
export function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function min(xs: number[]): number {
  return Math.min(...xs);
}

export function max(xs: number[]): number {
  return Math.max(...xs);
}

/** Median of a figure, or undefined when it has no samples. */
export function med(f: Figure | undefined): number | undefined {
  return f && f.samples.length ? median(f.samples) : undefined;
}

/** How to print a unit. */
/** n: a count (failed requests). */
export type Unit = 's' | 'ms' | 'MiB' | 'cpu-s' | 'n';

export function fmt(v: number, unit: Unit): string {
  switch (unit) {
    case 's':
      return `${v >= 10 ? v.toFixed(1) : v.toFixed(3)} s`;
    case 'ms':
      return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ms`;
    case 'MiB':
      return `${v.toFixed(1)} MiB`;
    case 'cpu-s':
      return `${v.toFixed(2)} s`;
    case 'n':
      return String(Math.round(v));
  }
}

function bare(v: number, unit: Unit): string {
  return fmt(v, unit).replace(/ .*$/, '');
}

/** "0.101 s (0.095–0.120)" — median with min–max; one sample prints alone. */
export function cell(f: Figure | undefined, unit: Unit): string {
  if (!f) return '';
  if (!f.samples.length) return f.note ?? '—';
  const m = fmt(median(f.samples), unit);
  if (f.samples.length === 1) return m + (f.note ? ` ${f.note}` : '');
  return `${m} (${bare(min(f.samples), unit)}–${bare(max(f.samples), unit)})${f.note ? ` ${f.note}` : ''}`;
}
