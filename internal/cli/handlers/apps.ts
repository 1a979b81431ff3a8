/** Declarative apps: apply, reload, group, dgraph. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appsFiles, loadApps } from '../../apps/file';
import { formatDiff, type AppsDiff } from '../../apps/diff';
import { formatDependencyOrder } from '../../apps/graph';
import { toWire } from '../../apps/wire';
import { invalidArgument } from '../../protocol/errors';
import type { Result } from '../../protocol/methods';
import { interpreterFor } from '../args';
import { processTable, table } from '../render';
import { withClient } from '../session';
import { many } from './process';
import { arg, bool, type Handler, list, type Outcome, str } from './types';
import { appEntries, appsFileText } from '../../export/apps';
import { formatGo, type GoFormat, goExecFlags } from '../../export/go';
import { systemdUnits } from '../../export/systemd';
import { checkedApps, toAppsYaml } from '../../import/emit';
import { importPath } from '../../import/index';
import { formatWarning } from '../../import/types';
import { othersFiles, ownDir, writeOwnFile } from '../files';

/** Root applying another user's file: its apps without a user run as root; said before they do. */
function warnOthers(files: readonly string[], io: { err(t: string): void }): void {
  for (const f of othersFiles(files)) io.err(`pmon3: warning: ${f.file} belongs to uid ${f.uid}, not root: its apps that name no user run as root\n`);
}

/** The diff as apply/reload print it. */
function diffOutcome(r: Result<'apply'>, dryRun: boolean): Outcome {
  const d: AppsDiff = { changes: r.changes, counts: { added: 0, changed: 0, removed: 0, kept: 0, unchanged: 0, ...r.counts } };
  return { text: formatDiff(d, { dryRun }).join('\n'), value: r };
}

export const apply: Handler = async (r, io) => {
  const given = list(r, 'file');
  if (given.length === 0) throw invalidArgument('apply: give at least one apps file or directory with -f');
  const paths = given.map((p) => path.resolve(io.cwd, p));
  for (const p of paths) {
    try {
      fs.statSync(p);
    } catch (e) {
      throw invalidArgument(`apply: ${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
    }
  }
  // Read as the caller (this process), never by pmond: a user's paths are the user's to read.
  const files = paths.flatMap((p) => appsFiles(p)).map((f) => path.resolve(f));
  const specs = loadApps(files);
  warnOthers(files, io);
  const PATH = io.env.PATH;
  const apps = specs.map((a) => toWire(a, (script, interpreter, dir) => interpreterFor(script, interpreter, dir, PATH)));
  const dryRun = bool(r, 'dry-run');
  const res = await withClient(async (c) => {
    await c.require('apply', 'apply');
    return c.call('apply', { apps, files, prune: bool(r, 'prune'), dry_run: dryRun });
  });
  return diffOutcome(res, dryRun);
};

export const upgrade: Handler = async (r, io) => {
  const target = arg(r, 'target')!;
  const res = await withClient(async (c) => {
    await c.require('upgrade', 'upgrade (a rolling reload)');
    return c.call('upgrade', { target });
  });
  return { text: `${processTable(res.processes, io.look)}\n${target}: ${res.replaced} instance${res.replaced === 1 ? '' : 's'} replaced in ${(res.ms / 1000).toFixed(1)} s`, value: res };
};

export const reload: Handler = async (r, io) => {
  if (arg(r, 'target') !== undefined) {
    if (bool(r, 'dry-run')) throw invalidArgument('reload NAME: --dry-run goes with reload alone (the apps files)');
    return upgrade(r, io);
  }
  const dryRun = bool(r, 'dry-run');
  const res = await withClient(async (c) => {
    await c.require('reload', 'reload');
    return c.call('reload', { dry_run: dryRun });
  });
  return diffOutcome(res, dryRun);
};

export const scale: Handler = async (r, io) => {
  const target = arg(r, 'target')!;
  const text = arg(r, 'count')!;
  const m = /^([+-]?)(\d{1,4})$/.exec(text);
  if (!m) throw invalidArgument(`scale: count "${text.slice(0, 40)}" must be N, +N or -N`);
  const relative = m[1] !== '';
  const count = (m[1] === '-' ? -1 : 1) * Number(m[2]);
  const ps = await withClient(async (c) => {
    await c.require('scale', 'scale');
    return c.call('scale', { target, count, relative });
  });
  return many(ps, io.look);
};

export const dgraph: Handler = async (r) => {
  const res = await withClient(async (c) => {
    await c.require('dgraph', 'dgraph');
    return c.call('dgraph', { config_only: bool(r, 'process-config-only') });
  });
  return { text: formatDependencyOrder(res).replace(/\n$/, ''), value: res };
};

const commas = (s: string | undefined, what: string): string[] => {
  const words = (s ?? '').split(',').filter((w) => w !== '');
  if (words.length === 0) throw invalidArgument(`group: give ${what}`);
  return words;
};

export const group: Handler = async (r, io) => {
  const action = arg(r, 'action')!;
  const g = arg(r, 'group');
  const rest = r.args.targets;
  const targets = Array.isArray(rest) ? rest.join(',') : (rest as string | undefined);
  const force = bool(r, 'force');
  const groupsTable = (gs: Result<'group'>['groups']): string =>
    table(
      ['ID', 'NAME', 'USER', 'APPS'],
      gs.map((x) => [String(x.id), x.name, x.user, x.apps.join(', ')]),
      io.look,
    );
  return withClient(async (c): Promise<Outcome> => {
    await c.require('group', 'groups');
    const call = (a: 'create' | 'del' | 'ls' | 'desc' | 'assign' | 'remove', groups: string[], ts: string[] = []) => c.call('group', { action: a, groups, targets: ts });
    switch (action) {
      case 'ls':
      case 'list': {
        const res = await call('ls', []);
        return { text: groupsTable(res.groups), value: res };
      }
      case 'create':
      case 'del':
      case 'desc':
      case 'show': {
        if (!g) throw invalidArgument(`group ${action}: give the group's name${action === 'create' ? '' : ' or id'}`);
        const res = await call(action === 'show' ? 'desc' : action, [g]);
        if (action === 'create') return { text: `created group ${res.groups[0]!.name} (id ${res.groups[0]!.id})`, value: res };
        if (action === 'del') return { text: `deleted group ${res.groups[0]!.name}`, value: res };
        const members = (await c.listAll()).filter((p) => res.groups[0]!.apps.includes(p.name.replace(/:\d+$/, '')) && p.user === res.groups[0]!.user);
        return { text: `${groupsTable(res.groups)}\n${processTable(members, io.look)}`, value: { ...res, processes: members } };
      }
      case 'assign':
      case 'remove': {
        const res = await call(action, commas(g, 'groups (GROUP[,GROUP...])'), commas(targets, 'processes (PROCESS[,PROCESS...])'));
        return { text: groupsTable(res.groups), value: res };
      }
      case 'stop':
      case 'restart':
      case 'drop': {
        if (!g) throw invalidArgument(`group ${action}: give the group's name`);
        const sel = `@${g}`;
        const ps = await c.call('act', { action: action === 'drop' ? 'delete' : action, targets: [sel], force: action !== 'restart' && force });
        return many(ps, io.look);
      }
      default:
        throw invalidArgument(`group: unknown action "${action}"`);
    }
  });
};

/** pmond's defaults, for units of apps that set none (config.ts defaultsFor). */
const UNIT_DEFAULTS = { defaultRestartMs: 100, defaultStopS: 10, defaultStopSignal: 'SIGTERM' };

export const exportApps: Handler = async (r, io) => {
  const positional = arg(r, 'format');
  const flag = str(r, 'format');
  if (positional !== undefined && flag !== undefined && positional !== flag) throw invalidArgument(`export: format given twice (${positional} and --format ${flag})`);
  const format = flag ?? positional ?? 'json';
  const dir = str(r, 'dir');
  if (dir !== undefined && format !== 'systemd') throw invalidArgument('export: -d/--dir goes with --format systemd');
  const { apps } = await withClient(async (c) => {
    await c.require('apps', 'export');
    return c.call('apps', {});
  });
  if (format === 'apps') {
    return { text: appsFileText(apps, `pmon3 export --format apps: ${apps.length} app${apps.length === 1 ? '' : 's'}; pmon3 apply -f FILE makes them again`).replace(/\n$/, ''), value: { apps: appEntries(apps) } };
  }
  if (format === 'systemd') {
    const units = systemdUnits(apps, { uid: process.getuid?.() ?? 0, ...UNIT_DEFAULTS });
    if (dir === undefined) return { text: units.map((u) => `### ${u.name}\n${u.text}`).join('\n').replace(/\n$/, ''), value: { units } };
    const abs = ownDir(path.resolve(io.cwd, dir));
    for (const u of units) writeOwnFile(path.join(abs, u.name), u.text);
    return { text: `wrote ${units.length} unit file${units.length === 1 ? '' : 's'} to ${abs}`, value: { dir: abs, units } };
  }
  const { processes, notes } = goExecFlags(apps, str(r, 'order') ?? 'id');
  for (const n of notes) io.err(`pmon3: note: ${n}\n`);
  // The Go pmon3's export text, which ends in a newline for yaml and toml and gets one here for
  // json (as its Println gives it); the Go CLI's Println adds a second one after yaml and toml.
  return { text: formatGo(format as GoFormat, processes), value: { processes, notes } };
};

/** How much of a file detection looks at. */
const HEAD_BYTES = 64 * 1024;

export const importApps: Handler = async (r, io) => {
  const given = arg(r, 'path')!;
  const abs = path.resolve(io.cwd, given);
  const out = str(r, 'output');
  const dryRun = bool(r, 'dry-run');
  if (out !== undefined && dryRun) throw invalidArgument('import: -o writes a file, --dry-run applies nothing: give one of them');
  // Every read is this process's, as the caller: pmond never opens a user's file.
  const result = importPath({
    path: abs,
    ...(str(r, 'from') !== undefined ? { from: str(r, 'from')! } : {}),
    opts: {
      read: (f) => fs.readFileSync(f, 'utf8'),
      list: (d) => fs.readdirSync(d).sort(),
      ...(str(r, 'env') !== undefined ? { env: str(r, 'env')! } : {}),
      environ: io.env,
    },
    head: (f) => {
      const fd = fs.openSync(f, 'r');
      try {
        const b = Buffer.alloc(HEAD_BYTES);
        const n = fs.readSync(fd, b, 0, HEAD_BYTES, 0);
        return b.subarray(0, n).toString('latin1');
      } finally {
        fs.closeSync(fd);
      }
    },
    isDir: (p) => fs.statSync(p).isDirectory(),
  });
  for (const w of result.warnings) io.err(`pmon3: warning: ${formatWarning(w)}\n`);
  const summary = `${result.apps.length} app${result.apps.length === 1 ? '' : 's'} from ${result.format} (${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'})`;
  // Checked through our own apps file reader first: what is written or applied is a valid apps file.
  const specs = checkedApps(result, abs);
  if (out === undefined) warnOthers(result.files.length ? result.files : [abs], io);
  if (out !== undefined) {
    const target = path.resolve(io.cwd, out);
    writeOwnFile(target, toAppsYaml(result, abs));
    return { text: `wrote ${summary} to ${target}`, value: { ...result, output: target } };
  }
  const PATH = io.env.PATH;
  const apps = specs.map((a) => toWire(a, (script, interpreter, dir) => interpreterFor(script, interpreter, dir, PATH)));
  const res = await withClient(async (c) => {
    await c.require('apply', 'import');
    return c.call('apply', { apps, files: [], prune: false, dry_run: dryRun });
  });
  const diff = diffOutcome(res, dryRun);
  return { text: `${summary}\n${diff.text}`, value: { ...result, changes: res.changes, counts: res.counts } };
};
