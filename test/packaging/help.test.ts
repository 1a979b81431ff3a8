/**
 * Help comes from the command table: every command's --help, -h, `help CMD`
 * show its summary, usage, every flag and an example; the README's command
 * table is the one the table makes (make readme writes it).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { commandsMarkdown } from '../../internal/cli/doc';
import { COMMANDS } from '../../internal/cli/table';
import { PMON3, ROOT } from '../helpers/daemon';
import { run } from './util';

test('every command has a summary, a usage line, its flags and an example in --help, -h and help CMD', async () => {
  const failures: string[] = [];
  for (let i = 0; i < COMMANDS.length; i += 4) {
    await Promise.all(
      COMMANDS.slice(i, i + 4).map(async (cmd) => {
        const outs: string[] = [];
        for (const argv of [[cmd.name, '--help'], [cmd.name, '-h'], ['help', cmd.name], ...cmd.aliases.map((a) => [a, '--help'])]) {
          const r = await run(PMON3, argv, { env: { ...process.env, COLUMNS: '200' } });
          if (r.code !== 0 || r.stderr !== '') failures.push(`${argv.join(' ')}: exit ${r.code} ${r.stderr.trim()}`);
          outs.push(r.stdout);
        }
        if (new Set(outs).size !== 1) failures.push(`${cmd.name}: --help, -h, help CMD and aliases differ`);
        const out = outs[0]!;
        if (!out.startsWith(`pmon3 ${cmd.name}: ${cmd.summary}\n`)) failures.push(`${cmd.name}: no summary`);
        if (!/\nUsage: pmon3 /.test(out)) failures.push(`${cmd.name}: no usage`);
        for (const f of cmd.flags) if (!out.includes(`--${f.long}`)) failures.push(`${cmd.name}: --${f.long} missing`);
        if (!cmd.examples.length || !out.includes(`  $ pmon3 ${cmd.examples[0]}`)) failures.push(`${cmd.name}: no example`);
      }),
    );
  }
  assert.deepEqual(failures, []);
});

test('pmon3, pmon3 -h, pmon3 --help and pmon3 help print the command list and exit 0', async () => {
  const outs = await Promise.all([[], ['-h'], ['--help'], ['help']].map((a) => run(PMON3, a)));
  for (const r of outs) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, outs[0]!.stdout);
  }
  for (const c of COMMANDS) assert.match(outs[0]!.stdout, new RegExp(`\\n  ${c.name}\\b`), c.name);
  const json = await run(PMON3, ['help', '--json']);
  assert.deepEqual((JSON.parse(json.stdout) as Array<{ name: string }>).map((c) => c.name), COMMANDS.map((c) => c.name));
});

test('the README command table is the one the command table makes (make readme)', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const begin = '<!-- commands:begin (make readme) -->\n';
  const end = '<!-- commands:end -->';
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  assert.ok(a >= 0 && b > a, 'README has the generated command table markers');
  assert.equal(readme.slice(a + begin.length, b), commandsMarkdown(), 'README command table is stale: run make readme');
});
