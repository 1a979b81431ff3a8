/**
 * What `apply` would change: the table's apps against the file's, app by app. Pure.
 *
 * fib-runner's rule, not supervisord's "update restarts the whole group": only a change to what
 * is executed (the spec hash: binary, args, cwd, env, user/group) restarts, and only that app's
 * instances. More instances start the new ones and leave the running ones alone; fewer stop the
 * highest indexes. Policy, groups, dependencies, logs: taken without a restart.
 * Apps in the table but not in the files are removed only with --prune; else they are kept, and
 * said so.
 */

/** One app as the diff sees it, from the table or from a file. */
export interface DiffApp {
  name: string;
  /** specHash() of what is executed. */
  hash: string;
  instances: number;
  /** Every field that is shown and compared (name → value; JSON-comparable). */
  fields: Readonly<Record<string, unknown>>;
}

export type ChangeKind = 'added' | 'changed' | 'removed' | 'kept' | 'unchanged';

export interface AppChange {
  name: string;
  kind: ChangeKind;
  /** Fields whose value differs (changed only), in name order. */
  fields: string[];
  /** The executed part changed: every running instance is restarted. */
  restart: boolean;
  /** Instance count before → after (for added: 0 → n; removed: n → 0). */
  instances: { from: number; to: number };
}

export interface AppsDiff {
  changes: AppChange[];
  counts: Record<ChangeKind, number>;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

/** Objects with their keys sorted, so {a,b} equals {b,a}. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** The diff, in name order. `prune`: apps absent from the files are removed (else kept). */
export function diffApps(table: readonly DiffApp[], files: readonly DiffApp[], opts: { prune: boolean }): AppsDiff {
  const before = new Map(table.map((a) => [a.name, a]));
  const after = new Map(files.map((a) => [a.name, a]));
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: AppChange[] = names.map((name) => {
    const b = before.get(name);
    const a = after.get(name);
    if (!b) return { name, kind: 'added', fields: [], restart: false, instances: { from: 0, to: a!.instances } };
    if (!a) {
      return opts.prune
        ? { name, kind: 'removed', fields: [], restart: false, instances: { from: b.instances, to: 0 } }
        : { name, kind: 'kept', fields: [], restart: false, instances: { from: b.instances, to: b.instances } };
    }
    const keys = [...new Set([...Object.keys(b.fields), ...Object.keys(a.fields)])].sort();
    const fields = keys.filter((k) => !same(b.fields[k], a.fields[k]));
    if (b.instances !== a.instances && !fields.includes('instances')) fields.push('instances');
    fields.sort();
    const restart = b.hash !== a.hash;
    const kind: ChangeKind = fields.length === 0 && !restart ? 'unchanged' : 'changed';
    return { name, kind, fields, restart, instances: { from: b.instances, to: a.instances } };
  });
  const counts: Record<ChangeKind, number> = { added: 0, changed: 0, removed: 0, kept: 0, unchanged: 0 };
  for (const c of changes) counts[c.kind]++;
  return { changes, counts };
}

/** One line per app that changes (and one summing up), as `apply` prints them. */
export function formatDiff(d: AppsDiff, opts: { dryRun: boolean }): string[] {
  const lines: string[] = [];
  for (const c of d.changes) {
    const n = c.instances;
    const scale = n.from !== n.to ? ` (instances ${n.from} → ${n.to})` : '';
    switch (c.kind) {
      case 'added':
        lines.push(`+ ${c.name}${n.to !== 1 ? ` (${n.to} instances)` : ''}`);
        break;
      case 'removed':
        lines.push(`- ${c.name}${n.from !== 1 ? ` (${n.from} instances)` : ''}`);
        break;
      case 'changed':
        lines.push(`~ ${c.name}: ${c.fields.join(', ')}${scale}${c.restart ? ' — restarts' : ' — no restart'}`);
        break;
      case 'kept':
        lines.push(`  ${c.name}: not in the files, kept (--prune removes it)`);
        break;
      case 'unchanged':
        break;
    }
  }
  const k = d.counts;
  lines.push(`${opts.dryRun ? 'would apply' : 'applied'}: ${k.added} added, ${k.changed} changed, ${k.removed} removed, ${k.unchanged} unchanged${k.kept ? `, ${k.kept} kept` : ''}`);
  return lines;
}
