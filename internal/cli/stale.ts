/** Whether the start-up snapshot is older than the sources it was built from (snapshot.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Of a bundle's inputs (esbuild's metafile), our own sources: the ones isStale checks. */
export function ownInputs(inputs: readonly string[]): string[] {
  return inputs.filter((f) => !f.startsWith('node_modules/'));
}

/**
 * In a source checkout, a source newer than the snapshot means someone rebuilt dist/ with tsc
 * alone: the snapshot would run old code, so do not use it. In an installed tree the sources are
 * absent and this costs a few stats. `inputs` are relative to `root`, the repository (or installed) root.
 */
export function isStale(root: string, mtimeMs: number, inputs: readonly string[]): boolean {
  for (const rel of inputs) {
    try {
      if (fs.statSync(path.join(root, rel)).mtimeMs > mtimeMs) return true;
    } catch {
      /* not a source checkout */
    }
  }
  return false;
}

