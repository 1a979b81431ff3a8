/** apply's diff: added / changed (restart or not) / removed or kept / unchanged; only an executed change restarts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffApps, formatDiff, type DiffApp } from '../../internal/apps/diff';

const app = (name: string, over: Partial<DiffApp> = {}, fields: Record<string, unknown> = {}): DiffApp => ({
  name,
  hash: `h-${name}`,
  instances: 1,
  ...over,
  fields: { exec: `/bin/${name}`, env: { A: '1', B: '2' }, restart: 'always', groups: [], ...fields },
});

test('each kind of change, in name order, and what restarts', () => {
  const table = [app('same'), app('policy'), app('code'), app('gone'), app('scaled', { instances: 2 }), app('envorder')];
  const files = [
    app('same'),
    app('policy', {}, { restart: 'never', groups: ['g'] }),
    app('code', { hash: 'h-new' }, { exec: '/bin/new' }),
    app('scaled', { instances: 4 }),
    app('envorder', {}, { env: { B: '2', A: '1' } }),
    app('fresh', { instances: 3 }),
  ];
  const d = diffApps(table, files, { prune: false });
  assert.deepEqual(
    d.changes.map((c) => [c.name, c.kind, c.fields.join(','), c.restart, `${c.instances.from}>${c.instances.to}`]),
    [
      ['code', 'changed', 'exec', true, '1>1'],
      ['envorder', 'unchanged', '', false, '1>1'],
      ['fresh', 'added', '', false, '0>3'],
      ['gone', 'kept', '', false, '1>1'],
      ['policy', 'changed', 'groups,restart', false, '1>1'],
      ['same', 'unchanged', '', false, '1>1'],
      ['scaled', 'changed', 'instances', false, '2>4'],
    ],
  );
  assert.deepEqual(d.counts, { added: 1, changed: 3, removed: 0, kept: 1, unchanged: 2 });
  const pruned = diffApps(table, files, { prune: true });
  assert.deepEqual(pruned.changes.find((c) => c.name === 'gone'), { name: 'gone', kind: 'removed', fields: [], restart: false, instances: { from: 1, to: 0 } });
  assert.equal(pruned.counts.removed, 1);
});

test('the printed diff: one line per app that changes, and a summary', () => {
  const d = diffApps([app('a'), app('b', { instances: 2 }), app('c')], [app('a', { hash: 'x' }, { exec: '/bin/x' }), app('b', { instances: 1 }), app('d', { instances: 2 })], { prune: true });
  assert.deepEqual(formatDiff(d, { dryRun: true }), [
    '~ a: exec — restarts',
    '~ b: instances (instances 2 → 1) — no restart',
    '- c',
    '+ d (2 instances)',
    'would apply: 1 added, 2 changed, 1 removed, 0 unchanged',
  ]);
  assert.deepEqual(formatDiff(diffApps([app('a')], [app('a')], { prune: false }), { dryRun: false }), ['applied: 0 added, 0 changed, 0 removed, 1 unchanged']);
  assert.deepEqual(formatDiff(diffApps([], [], { prune: false }), { dryRun: false }), ['applied: 0 added, 0 changed, 0 removed, 0 unchanged']);
});
