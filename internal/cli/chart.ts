/**
 * An ASCII chart of one series (fib-runner's `.stat`): one column per point, HEIGHT rows, the
 * y axis labelled at its top, middle and bottom, gaps (no sample) as blanks, the x axis marked
 * with how long ago each end is.
 */
export const HEIGHT = 10;

export function chart(values: ReadonlyArray<number | null>, fmt: (v: number) => string, minutesPerPoint: number): string {
  const got = values.filter((v): v is number => v !== null);
  if (!got.length) return '(no samples yet)';
  const max = Math.max(...got);
  const top = max > 0 ? max : 1;
  const labels = [fmt(top), fmt(top / 2), fmt(0)];
  const w = Math.max(...labels.map((l) => l.length));
  const rows: string[] = [];
  for (let r = HEIGHT; r >= 1; r--) {
    const label = r === HEIGHT ? labels[0]! : r === Math.ceil(HEIGHT / 2) ? labels[1]! : r === 1 ? labels[2]! : '';
    let line = '';
    for (const v of values) {
      if (v === null) line += ' ';
      else {
        const h = (v / top) * HEIGHT;
        line += h >= r ? '█' : h >= r - 0.5 ? '▄' : r === 1 ? '▁' : ' ';
      }
    }
    rows.push(`${label.padStart(w)} ┤${line}`);
  }
  const span = values.length * minutesPerPoint;
  const left = `-${span >= 120 ? `${Math.round(span / 60)}h` : `${span}m`}`;
  rows.push(`${' '.repeat(w)} └${'─'.repeat(values.length)}`);
  rows.push(`${' '.repeat(w)}  ${left.padEnd(Math.max(0, values.length - 3))}now`);
  return rows.join('\n');
}
