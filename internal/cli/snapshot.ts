/**
 * The CLI's V8 start-up snapshot: the whole CLI (parser, handlers, client,
 * config, protocol schemas, completion), loaded and warmed up, saved as a
 * heap image that node maps in at start instead of reading, compiling and
 * running ~600 KB of JavaScript (zod, yaml, the schemas).
 *
 * Why: from dist/ `pmon3 ls` spends ~100 ms loading that code before it
 * sends a byte; from the snapshot ~10 ms. bench/ has the figures.
 *
 * How it is used: `make build` bundles this file (dist/fast/pmon3-snapshot.js)
 * and bin/pmon3-snapshot runs it under `node --build-snapshot`, writing
 * dist/fast/pmon3.blob and a stamp whose mtime is the node binary's. The
 * launcher bin/pmon3 starts `node --snapshot-blob BLOB -- ARGS` only when the
 * stamp matches the node it would run and NODE_OPTIONS is empty (V8 refuses a
 * blob built by another node or with other V8 flags, exit 14); otherwise it
 * runs bin/pmon3.js, the same CLI from dist/. Those are the two start-up paths.
 *
 * At start (main below) the snapshot serves every command; when a source in a
 * checkout is newer than the snapshot (dist/ rebuilt with tsc alone) it hands
 * the command to bin/pmon3.js loaded from disk, exactly as `node bin/pmon3.js ARGS`.
 *
 * Nothing here may capture the environment, the cwd or the time at build time:
 * the heap is saved after this module ran once on the build machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { runCompletion } from './completion';
import { runCli, traceStart } from './main';
import { isStale, ownInputs } from './stale';
import { warmUp } from './warm';

// This file exports nothing: the snapshot builder runs it as a script, without `module`.
if (v8.startupSnapshot?.isBuildingSnapshot()) {
  /** Our sources in the snapshot, relative to the repository root, read from esbuild's metafile at build time. */
  const meta = JSON.parse(fs.readFileSync(path.join(__dirname, 'snapshot-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
  const inputs = ownInputs(Object.keys(meta.inputs));
  warmUp();
  v8.startupSnapshot.setDeserializeMainFunction(() => start(inputs));
}

function start(inputs: string[]): void {
  // node --snapshot-blob ROOT/dist/fast/pmon3.blob -- ARGS (bin/pmon3): argv is [node, ...ARGS].
  const x = process.execArgv;
  const at = x.indexOf('--snapshot-blob');
  const blob = path.resolve(at >= 0 ? (x[at + 1] ?? '') : (x.find((a) => a.startsWith('--snapshot-blob='))?.slice(16) ?? ''));
  const root = path.join(path.dirname(blob), '..', '..');
  const entry = path.join(root, 'bin', 'pmon3.js');
  // As if started as `node bin/pmon3.js ARGS` (the session finds the tree's native addon from argv[1]).
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
    traceStart('snapshot');
    return runCli(args);
  }
  // node:module only now: node warns about loading it (and node:tty) while building a snapshot.
  (require('node:module') as typeof import('node:module')).createRequire(entry)(entry);
}
