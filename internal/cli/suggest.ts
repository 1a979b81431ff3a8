/** "Did you mean …?": the closest known word to a mistyped one. */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions: restrat → restart is 1). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known word closest to `word`, if it is close enough to be a typo: at
 * most 1 edit for short words, 2 from 5 letters on, or a known word that the
 * typed one starts or ends (`versio`, `logs` → `log`). Ties go to the first known word.
 */
export function suggest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = editDistance(w, k.toLowerCase());
    if (dist < bestD) {
      best = k;
      bestD = dist;
    }
  }
  if (best === undefined) return undefined;
  const limit = w.length >= 5 ? 2 : 1;
  if (bestD <= limit && bestD < w.length) return best;
  const prefix = known.find((k) => w.length >= 3 && (k.startsWith(w) || w.startsWith(k)));
  return prefix;
}
