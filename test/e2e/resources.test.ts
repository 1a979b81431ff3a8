/**
 * Resources against a real pmond (issue 15): max_memory restarts an instance whose RSS stays
 * over the limit for max_memory_checks checks in a row (one a second), with its reason; one
 * under the limit is left alone; bad sizes are refused in one line.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';

const GROW = path.join(FIXTURES, 'resources', 'grow.js');
let d: TestDaemon;
let dir: string;

before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmrs-', 0o755);
});
after(async () => {
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
};

test('max_memory: an instance over the limit for 2 checks in a row is restarted with reason memory; one under it is left alone', async () => {
  const file = write(
    'mem.yaml',
    `apps:
  - name: fat
    exec: ${process.execPath}
    args: [${GROW}, "160"]
    max_memory: 100M
    max_memory_checks: 2
  - name: lean
    exec: ${process.execPath}
    args: [${GROW}, "8"]
    max_memory: 1G
`,
  );
  await d.json(['apply', '-f', file]);
  const first = await d.waitProc('fat', 'running', (p) => p.status === 'running');
  const lean = await d.waitProc('lean', 'running', (p) => p.status === 'running');
  const again = await d.waitProc('fat', 'restarted for memory', (p) => p.pid !== first.pid && p.restarts >= 1, 20_000);
  const desc = await d.json<any>(['desc', 'fat']);
  assert.match(String(desc.reason ?? ''), /^memory: RSS \d+\.\d MiB over max_memory 100\.0 MiB for 2 checks in a row$/, JSON.stringify(desc));
  assert.match(fs.readFileSync(path.join(d.logs, 'pmond.log'), 'utf8'), /fat: pid \d+ memory: RSS .* restarting it/);
  assert.equal((await d.get('lean')).pid, lean.pid, 'lean was not touched');
  assert.ok(again.pid > 0);
  await d.json(['del', 'fat']);
  await d.json(['del', 'lean']);
});

test('bad max_memory is refused in one line, the daemon up', async () => {
  for (const [v, why] of [['"512X"', /a size/], ['"-1M"', /a size/], ['0', /max_memory/], ['"100K"', /at least 1M/], ['"$(id)"', /a size/]] as const) {
    const r = await d.run(['apply', '-f', write('bad.yaml', `apps:\n  - name: badmem\n    exec: /bin/sleep\n    args: ["60"]\n    max_memory: ${v}\n`)]);
    assert.notEqual(r.code, 0, v);
    assert.match(r.stderr, why, `${v}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  const r = await d.run(['apply', '-f', write('bad2.yaml', `apps:\n  - name: badmem\n    exec: /bin/sleep\n    args: ["60"]\n    max_memory_checks: 3\n`)]);
  assert.match(r.stderr, /max_memory_checks goes with max_memory/);
  assert.equal((await d.ls()).filter((p) => p.name === 'badmem').length, 0);
});
