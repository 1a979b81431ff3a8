/**
 * The CLI's fast path: the hot commands (`ls`, `desc`, `exec`, `stop`,
 * `start`, `restart` and their aliases) served without loading oclif.
 *
 * Why: oclif alone costs ~0.2 s of start-up, three times `node -e 0`, and a
 * process manager's `ls` is run by scripts and shells all day. The fast path
 * recognises a strict, unambiguous subset of each hot command's argv and
 * answers it with the same modules the oclif commands use (internal/client,
 * internal/config, internal/cli/render, internal/cli/args, the protocol), so
 * stdout, stderr and exit codes are the oclif command's, byte for byte.
 * Everything else — --help, unknown or repeated flags, values that start
 * with "-", a missing argument (oclif would read it from stdin), JSON that
 * oclif might colour — returns false and goes to oclif unchanged.
 * PMON3_NO_FASTPATH=1 sends everything to oclif (tests compare both paths).
 *
 * Loading cost: internal/client and internal/config pull in zod and yaml,
 * ~100 ms of module loading spread over ~170 files. `make build` therefore
 * bundles this file and its imports with esbuild into one file
 * (dist/fast/pmon3-fast.js) and stores a V8 code cache of it taken after a
 * warm-up run (dist/fast/pmon3-fast.cache), which cuts that to ~20 ms.
 * When the bundle is missing or older than a source it was built from,
 * this module serves the command from dist/ itself: correct, only slower.
 * Faster still, bin/pmon3 starts node from a V8 start-up snapshot of this
 * module (internal/cli/snapshot.ts) when it can; this file is the path for
 * when it cannot (another node, NODE_OPTIONS, `node bin/pmon3.js`).
 *
 * This file is loaded on every pmon3 start, so at the top it imports only
 * Node built-ins; everything else is required when a command is served.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type { Client } from '../client/client';
import type { ExecArgv } from './args';
import type { ProcessView } from '../protocol/methods';

export type { ExecArgv };

/** A hot command, parsed: what the oclif command would do with that argv. */
export type Plan =
  | { cmd: 'ls'; json: boolean }
  | { cmd: 'desc'; json: boolean; target: string }
  | { cmd: 'stop'; json: boolean; target: string; force: boolean }
  /** `restart` (count: true) and `start` (count: false). */
  | { cmd: 'restart'; json: boolean; target: string; count: boolean }
  | { cmd: 'exec'; json: boolean; exec: ExecArgv };

/** What decides whether oclif would print anything else (debug output, coloured JSON). */
export interface Surroundings {
  env: NodeJS.ProcessEnv;
  /** Whether stdout and stderr are both terminals (oclif may colour JSON then). */
  colorTerminal: boolean;
}

const ALIASES: Readonly<Record<string, string>> = {
  ls: 'ls',
  list: 'ls',
  desc: 'desc',
  show: 'desc',
  stop: 'stop',
  start: 'start',
  restart: 'restart',
  exec: 'exec',
  run: 'exec',
};

/** exec's value flags: every spelling → long name. */
const EXEC_VALUE_FLAGS: Readonly<Record<string, keyof ExecArgv>> = {
  '--name': 'name',
  '--args': 'args',
  '-a': 'args',
  '--env-vars': 'envVars',
  '-e': 'envVars',
  '--user': 'user',
  '-u': 'user',
  '--log': 'log',
  '-l': 'log',
  '--log-dir': 'logDir',
  '-d': 'logDir',
  '--cwd': 'cwd',
};

/**
 * The plan for argv (after `pmon3`), or undefined when oclif must handle it.
 * Pure: no I/O, so it is unit-testable and costs nothing to call.
 */
export function planFast(argv: readonly string[], s: Surroundings): Plan | undefined {
  const env = s.env;
  if (env.PMON3_NO_FASTPATH) return undefined;
  // oclif's own environment switches: --json forced on, debug output.
  if (env.PMON3_CONTENT_TYPE !== undefined || env.DEBUG !== undefined) return undefined;
  if (env.PMON3_DEBUG === '1' || env.PMON3_DEBUG === 'true') return undefined;
  const cmd = ALIASES[argv[0] ?? ''];
  if (!cmd) return undefined;
  const rest = argv.slice(1);
  const plan = cmd === 'exec' ? planExec(rest) : planSimple(cmd, rest);
  // With a colour-capable terminal (or FORCE_COLOR) oclif may colour JSON with a theme: leave that to it.
  if (plan?.json && (s.colorTerminal || 'FORCE_COLOR' in env)) return undefined;
  return plan;
}

/** ls, desc, stop, start, restart: at most one positional, known flags once each, any order. */
function planSimple(cmd: string, rest: readonly string[]): Plan | undefined {
  let json = false;
  let force = false;
  const positional: string[] = [];
  for (const tok of rest) {
    if (tok === '--json' && !json) json = true;
    else if ((tok === '-f' || tok === '--force') && cmd === 'stop' && !force) force = true;
    else if (tok !== '' && !tok.startsWith('-')) positional.push(tok);
    else return undefined; // --help, --, repeated or unknown flags, empty words: oclif's business
  }
  if (cmd === 'ls') return positional.length === 0 ? { cmd: 'ls', json } : undefined;
  // A missing target is read from stdin by oclif; more than one is its error.
  if (positional.length !== 1) return undefined;
  const target = positional[0]!;
  if (cmd === 'desc') return { cmd: 'desc', json, target };
  if (cmd === 'stop') return { cmd: 'stop', json, target, force };
  return { cmd: 'restart', json, target, count: cmd === 'restart' };
}

/**
 * exec (oclif strict: false): flags anywhere before `--`, positionals after
 * the binary become the child's arguments, everything after `--` too.
 */
function planExec(rest: readonly string[]): Plan | undefined {
  const flags: Partial<Record<keyof ExecArgv, string>> = {};
  const positional: string[] = [];
  let json = false;
  let noAutorestart = false;
  let passThrough = false;
  for (let i = 0; i < rest.length; i++) {
    const tok = rest[i]!;
    if (passThrough) {
      // oclif checks for --help up to `--` only, but keep the subset obvious.
      if (tok === '--help') return undefined;
      positional.push(tok);
      continue;
    }
    if (tok === '--') {
      passThrough = true;
      continue;
    }
    if (tok === '') return undefined;
    if (!tok.startsWith('-')) {
      positional.push(tok);
      continue;
    }
    if (tok === '--json' && !json) {
      json = true;
      continue;
    }
    if ((tok === '-n' || tok === '--no-autorestart') && !noAutorestart) {
      noAutorestart = true;
      continue;
    }
    const eq = tok.startsWith('--') ? tok.indexOf('=') : -1;
    const spelling = eq > 0 ? tok.slice(0, eq) : tok;
    const key = EXEC_VALUE_FLAGS[spelling];
    if (!key || flags[key] !== undefined) return undefined; // unknown (oclif passes it on as an argument) or repeated
    const value = eq > 0 ? tok.slice(eq + 1) : rest[++i];
    // oclif takes a "-…" value unless it names a flag; leave every such case to it.
    if (value === undefined || value === '' || value.startsWith('-')) return undefined;
    flags[key] = value;
  }
  const binary = positional[0];
  if (binary === undefined) return undefined;
  // oclif sorts its argv by each word's first position in the input, which
  // reorders repeated words (`-- b a b` → `b b a`). Only serve argv it keeps in order.
  let last = -1;
  for (const word of positional) {
    const at = rest.indexOf(word);
    if (at < last) return undefined;
    last = at;
  }
  return {
    cmd: 'exec',
    json,
    exec: { ...flags, binary, extra: positional.slice(1), noAutorestart } as ExecArgv,
  };
}

/** Run one plan: same request, same output, same exit status as the oclif command. */
export async function serve(plan: Plan): Promise<void> {
  const { exitCodeFor, toWireError } = require('../protocol/errors') as typeof import('../protocol/errors');
  try {
    const { text, value } = await execute(plan);
    if (plan.json) writeJson(value);
    else process.stdout.write(`${text}\n`);
  } catch (err) {
    // cmd/pmon3/base.ts's catch: one line on stderr, the JSON error on stdout with --json.
    const wire = toWireError(err);
    const { printable } = require('./render') as typeof import('./render');
    process.stderr.write(`pmon3: ${printable(wire.message)}\n`);
    if (plan.json) writeJson({ error: wire });
    process.exitCode = exitCodeFor(err);
  }
}

/**
 * Run one plan and return its human text and --json value. The oclif
 * commands call this too, so both paths send the same request and print the same thing.
 */
export async function execute(plan: Plan): Promise<{ text: string; value: unknown }> {
  const render = require('./render') as typeof import('./render');
  const one = (p: ProcessView): { text: string; value: unknown } => ({ text: render.processTable([p]), value: p });
  switch (plan.cmd) {
    case 'ls': {
      const list = await withClient((c) => c.listAll());
      return { text: render.processTable(list), value: list };
    }
    case 'desc': {
      const p = await withClient((c) => c.call('describe', { target: plan.target }));
      return { text: render.describeTable(p), value: p };
    }
    case 'stop':
      return one(await withClient((c) => c.call('stop', { target: plan.target, force: plan.force })));
    case 'restart':
      return one(await withClient((c) => c.call('restart', { target: plan.target, count: plan.count })));
    case 'exec': {
      const { execParams } = require('./args') as typeof import('./args');
      const params = execParams(plan.exec, process.cwd());
      return one(await withClient((c) => c.call('exec', params)));
    }
  }
}

/** internal/cli/session's withClient, required here so this file stays cheap to load. */
function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const session = require('./session') as typeof import('./session');
  return session.withClient(fn);
}

/** oclif's logJson without a theme: two-space JSON and a newline. */
function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, undefined, 2)}\n`);
}

// ------------------------------------------------------------ loading

/** Whether this copy of the module is the bundle (loaded by loadBundle or by `make build`). */
const IS_BUNDLE = path.basename(__filename) === 'pmon3-fast.js';
/** Where `make build` puts the bundle and its code cache (dist/fast/), seen from dist/internal/cli. */
const BUNDLE = IS_BUNDLE ? __filename : path.join(__dirname, '..', '..', 'fast', 'pmon3-fast.js');
const CACHE = BUNDLE.replace(/\.js$/, '.cache');

/** Header of the cache file: which bundle it belongs to and what the bundle was built from. */
interface CacheHeader {
  /**
   * The build tag `make build` ends the bundle with (a `//# pmon3-fast-build N` line).
   * V8 checks a cache only against the source's length, and an install (cp -R)
   * does not keep mtimes, so the tag is what ties the cache to its bundle.
   */
  build: string;
  /** Our own source files in the bundle, relative to the repository root. */
  inputs: string[];
}

/** The build tag at the end of a bundle's source, or undefined. */
function buildTag(source: string): string | undefined {
  return /\/\/# pmon3-fast-build (\S+)\s*$/.exec(source.slice(-80))?.[1];
}

/**
 * Serve argv on the fast path if it is a hot command; false means "not
 * handled, run oclif". The serving itself is asynchronous and sets
 * process.exitCode on failure.
 */
export function tryFastPath(argv: readonly string[]): boolean {
  const plan = planFast(argv, surroundings());
  if (!plan) return false;
  let bundle: typeof import('./fast') | undefined;
  try {
    bundle = loadBundle();
  } catch {
    bundle = undefined; // a damaged bundle costs speed, never the command
  }
  traceStart(bundle ? 'bundle' : 'dist');
  void (bundle?.serve ?? serve)(plan);
  return true;
}

/** This process's Surroundings. node:tty is required here, not at the top: the start-up snapshot must not load it. */
export function surroundings(): Surroundings {
  const tty = require('node:tty') as typeof import('node:tty');
  return { env: process.env, colorTerminal: tty.isatty(1) && tty.isatty(2) };
}

/**
 * PMON3_TRACE_START=1: say on stderr which start-up path served the command
 * (snapshot, bundle, dist or oclif), for an operator asking why pmon3 is slow here.
 */
export function traceStart(how: 'snapshot' | 'bundle' | 'dist' | 'oclif'): void {
  if (process.env.PMON3_TRACE_START === '1') process.stderr.write(`pmon3: start: ${how}\n`);
}

/** The bundled copy of this module, compiled with its code cache; undefined if missing or stale. */
function loadBundle(): typeof import('./fast') | undefined {
  if (IS_BUNDLE) return undefined;
  let st: fs.Stats;
  let source: string;
  let header: CacheHeader;
  let data: Buffer | undefined;
  try {
    st = fs.statSync(BUNDLE);
    source = fs.readFileSync(BUNDLE, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const raw = fs.readFileSync(CACHE);
    const len = raw.readUInt32BE(0);
    header = JSON.parse(raw.subarray(4, 4 + len).toString('utf8')) as CacheHeader;
    data = raw.subarray(4 + len);
  } catch {
    return undefined; // no cache, so no list of sources to check the bundle against
  }
  if (header.build !== buildTag(source)) data = undefined; // another build's cache: compile from scratch
  if (isStale(path.join(__dirname, '..', '..', '..'), st.mtimeMs, header.inputs)) return undefined;
  const exports = {};
  const mod = { exports };
  const fn = compile(source, data).runInThisContext() as (...a: unknown[]) => void;
  fn(exports, require, mod, BUNDLE, path.dirname(BUNDLE));
  return mod.exports as typeof import('./fast');
}

/** Of a bundle's inputs (esbuild's metafile), our own sources: the ones isStale checks. */
export function ownInputs(inputs: readonly string[]): string[] {
  return inputs.filter((f) => !f.startsWith('node_modules/'));
}

/**
 * In a source checkout, a source newer than the bundle (or snapshot) means someone rebuilt
 * dist/ with tsc alone: the bundle would run old code, so do not use it.
 * In an installed tree the sources are absent and this costs a few stats.
 * `inputs` are relative to `root`, the repository (or installed) root.
 */
export function isStale(root: string, bundleMtimeMs: number, inputs: readonly string[]): boolean {
  for (const rel of inputs) {
    try {
      if (fs.statSync(path.join(root, rel)).mtimeMs > bundleMtimeMs) return true;
    } catch {
      /* not a source checkout */
    }
  }
  return false;
}

function compile(source: string, cachedData: Buffer | undefined): vm.Script {
  // The same wrapper and file name when the cache is written and when it is used, or V8 rejects it.
  const wrapped = `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
  return new vm.Script(wrapped, { filename: BUNDLE, cachedData });
}

/**
 * Called by `make build` through the bundle: compile and run the bundle the
 * way loadBundle does, exercise the code a command runs (config, protocol
 * schemas, rendering), then store V8's code cache with every function that
 * was compiled meanwhile. `inputs` are the bundle's inputs (esbuild's metafile), relative to the root.
 */
export function writeCodeCache(inputs: string[]): void {
  const source = fs.readFileSync(BUNDLE, 'utf8');
  const build = buildTag(source);
  if (build === undefined) throw new Error(`${BUNDLE} does not end with a //# pmon3-fast-build tag`);
  const script = compile(source, undefined);
  const exports = {};
  const mod = { exports };
  (script.runInThisContext() as (...a: unknown[]) => void)(exports, require, mod, BUNDLE, path.dirname(BUNDLE));
  (mod.exports as typeof import('./fast')).warmUp();
  const data = script.createCachedData();
  const own = ownInputs(inputs);
  const head = Buffer.from(JSON.stringify({ build, inputs: own } satisfies CacheHeader));
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(head.length, 0);
  const tmp = `${CACHE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([len, head, data]));
  fs.renameSync(tmp, CACHE);
}

/** Run, without I/O to pmond, the code a hot command runs, so the code cache holds it compiled. */
export function warmUp(): void {
  const { parseConfig } = require('../config/config') as typeof import('../config/config');
  const { METHODS, encodeFrame, FrameDecoder } = require('../protocol') as typeof import('../protocol');
  const render = require('./render') as typeof import('./render');
  const { execParams } = require('./args') as typeof import('./args');
  const ce = { uid: 0, home: '/root', env: {} };
  parseConfig('socket_path: /run/pmon3/pmon3.sock\nstop_timeout: 3\n', '/dev/null', ce);
  const now = new Date(0).toISOString();
  const view: ProcessView = {
    id: 1,
    name: 'warm',
    status: 'running',
    pid: 1,
    restarts: 0,
    user: 'root',
    uid: 0,
    gid: 0,
    process_file: '/bin/true',
    args: ['a'],
    env: { A: '1' },
    cwd: '/',
    log: '/dev/null',
    auto_restart: true,
    cpu: 0.5,
    memory: 1 << 20,
    uptime_ms: 1000,
    last_exit_code: null,
    last_signal: null,
    started_at: now,
    created_at: now,
    updated_at: now,
    cgroup: null,
    saved: true,
  };
  const reply = new FrameDecoder(1 << 20).push(encodeFrame({ v: 2, id: 1, ok: true, result: { processes: [view], next: null } }))[0] as { result: unknown };
  METHODS.list.result.safeParse(reply.result);
  METHODS.describe.result.safeParse(view);
  METHODS.exec.result.safeParse(view);
  render.processTable([view]);
  render.describeTable(view);
  execParams({ binary: 'x', extra: [], args: "-a 'b c'", envVars: 'A=1', noAutorestart: false }, '/');
}
