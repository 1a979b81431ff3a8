/** Every pmon3 command's --help shows its description and at least one example. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS } from '../../cmd/pmon3/commands/index';
import { PMON3 } from '../helpers/daemon';
import { run } from './util';

const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();

test('every command has a description and an example in --help', async () => {
  const names = Object.keys(COMMANDS) as Array<keyof typeof COMMANDS>;
  assert.ok(names.length >= 15);
  const failures: string[] = [];
  // Four at a time: each is a Node start-up.
  for (let i = 0; i < names.length; i += 4) {
    await Promise.all(
      names.slice(i, i + 4).map(async (name) => {
        const cmd = COMMANDS[name] as unknown as { description?: string; examples?: unknown[] };
        const r = await run(PMON3, [name, '--help'], { env: { ...process.env, COLUMNS: '200' } });
        const out = squash(r.stdout);
        if (r.code !== 0) failures.push(`${name}: exit ${r.code} ${r.stderr.trim()}`);
        if (!cmd.description || !out.includes(squash(cmd.description))) failures.push(`${name}: no description`);
        if (!(cmd.examples?.length ?? 0) || !/EXAMPLES\s+\$ pmon3 \S/.test(r.stdout)) failures.push(`${name}: no example`);
      }),
    );
  }
  assert.deepEqual(failures, []);
});
