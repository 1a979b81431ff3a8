/**
 * The CLI's V8 start-up snapshot: the fast path and completion, loaded and
 * warmed up, saved as a heap image that node maps in at start instead of
 * reading, compiling and running ~600 KB of JavaScript (zod, yaml, the
 * protocol and config schemas).
 *
 * Why: with the code cache alone (internal/cli/fast), `pmon3 ls` still spent
 * ~60 ms over `node -e 0` loading that code and building the schemas; from the
 * snapshot it spends ~10 ms, most of it pmond's answer. bench/ has the figures.
 *
 * How it is used: `make build` bundles this file (dist/fast/pmon3-snapshot.js)
 * and bin/pmon3-snapshot runs it under `node --build-snapshot`, writing
 * dist/fast/pmon3.blob and a stamp whose mtime is the node binary's. The
 * launcher bin/pmon3 starts `node --snapshot-blob BLOB -- ARGS` only when the
 * stamp matches the node it would run and NODE_OPTIONS is empty (V8 refuses a
 * blob built by another node or with other V8 flags, exit 14); otherwise it
 * runs bin/pmon3.js, the same CLI from dist/.
 *
 * At start (main below) the snapshot serves what the fast path serves and
 * completion; everything else — and everything when a source in a checkout is
 * newer than the snapshot — is handed to bin/pmon3.js loaded from disk, exactly
 * as `node bin/pmon3.js ARGS` would run it.
 *
 * Nothing here may capture the environment, the cwd or the time at build time:
 * the heap is saved after this module ran once on the build machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { runCompletion } from './completion';
import { isStale, ownInputs, planFast, serve, surroundings, traceStart, warmUp } from './fast';

/** Our sources in the snapshot, relative to the repository root, read from esbuild's metafile at build time. */
const inputs = (() => {
  const meta = JSON.parse(fs.readFileSync(path.join(__dirname, 'snapshot-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
  return ownInputs(Object.keys(meta.inputs));
})();

warmUp();
v8.startupSnapshot.setDeserializeMainFunction(main);

function main(): void {
  // node --snapshot-blob ROOT/dist/fast/pmon3.blob -- ARGS (bin/pmon3): argv is [node, ...ARGS].
  const x = process.execArgv;
  const at = x.indexOf('--snapshot-blob');
  const blob = path.resolve(at >= 0 ? (x[at + 1] ?? '') : (x.find((a) => a.startsWith('--snapshot-blob='))?.slice(16) ?? ''));
  const root = path.join(path.dirname(blob), '..', '..');
  const entry = path.join(root, 'bin', 'pmon3.js');
  // As if started as `node bin/pmon3.js ARGS` (oclif and the commands read argv[1] and on).
  process.argv.splice(1, 0, entry);
  const args = process.argv.slice(2);
  let mtimeMs = 0;
  try {
    mtimeMs = fs.statSync(blob).mtimeMs;
  } catch {
    /* unreadable blob: node could not have started from it; treat as stale */
  }
  if (mtimeMs > 0 && !isStale(root, mtimeMs, inputs)) {
    if (args.includes('--compgen')) return runCompletion();
    const plan = planFast(args, surroundings());
    if (plan) {
      traceStart('snapshot');
      void serve(plan);
      return;
    }
  }
  // node:module only now: node warns about loading it (and node:tty) while building a snapshot.
  (require('node:module') as typeof import('node:module')).createRequire(entry)(entry);
}
