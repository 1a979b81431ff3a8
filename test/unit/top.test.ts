/** topn's pure parts: the order (CPU, then memory, unknown last, then id) and the table. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProcessSummary } from '../../internal/protocol/methods';
import { topOrder, topTable } from '../../internal/cli/top';

const p = (id: number, cpu: number | null, memory: number | null, extra: Partial<ProcessSummary> = {}): ProcessSummary => ({
  id,
  name: `p${id}`,
  status: cpu === null ? 'stopped' : 'running',
  pid: cpu === null ? null : 1000 + id,
  restarts: 0,
  user: 'alice',
  uid: 1000,
  cpu,
  memory,
  uptime_ms: cpu === null ? null : 61_000,
  last_exit_code: null,
  last_signal: null,
  saved: true,
  ...extra,
});

test('topOrder: CPU descending, then memory descending, unknown figures last, then id; the input is not changed', () => {
  const input = [p(1, 0.5, 10), p(2, null, null), p(3, 12, 5), p(4, 0.5, 300), p(5, 12, 5), p(6, 0, null), p(7, null, 50)];
  const before = input.map((x) => x.id);
  assert.deepEqual(topOrder(input).map((x) => x.id), [3, 5, 4, 1, 6, 7, 2]);
  assert.deepEqual(input.map((x) => x.id), before);
  assert.deepEqual(topOrder([]), []);
});

test('topTable: pid, name, user, cpu %, mem, status, uptime; "-" for what a stopped process lacks', () => {
  const out = topTable([p(3, 12.345, 5 * 1024 * 1024), p(2, null, null)]);
  const lines = out.split('\n');
  assert.match(lines[1]!, /^│ PID +│ Name +│ User +│ CPU +│ Mem +│ Status +│ Uptime │$/);
  assert.match(lines[3]!, /^│ 1003 │ p3 +│ alice │ 12\.3% │ 5\.0 MiB │ running │ 1m1s +│$/);
  assert.match(lines[4]!, /^│ - +│ p2 +│ alice │ - +│ - +│ stopped │ - +│$/);
  assert.equal(lines.length, 6);
});

test('topTable: cut to the width (Name and User), colours only when asked, control characters escaped', () => {
  const long = p(1, 1, 1, { name: 'a-very-long-process-name-indeed', user: 'someone-with-a-long-name' });
  const out = topTable([long], { color: false, width: 60 });
  for (const l of out.split('\n')) assert.ok(l.length <= 60, l);
  assert.match(out, /…/);
  assert.equal(topTable([long], { color: false }).includes('\x1b'), false);
  assert.match(topTable([long], { color: true }), /\x1b\[32mrunning/);
  assert.equal(topTable([p(1, 1, 1, { name: 'evil\x1b[2J' })]).includes('\x1b'), false);
});
