/**
 * The native parts build with every warning an error: each target of binding.gyp (the addon and
 * the exec helper) carries -Wall -Wextra -Werror in its C flags, and nothing turns a warning off
 * again, so a build that warns fails. -Wunused-parameter undoes node-gyp's own
 * -Wno-unused-parameter (common.gypi), which -Wextra alone does not override.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/daemon';

interface Target {
  target_name: string;
  sources: string[];
  cflags?: string[];
}

const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')) as { targets: Target[] };
const REQUIRED = ['-Wall', '-Wextra', '-Wunused-parameter', '-Werror'];

test('binding.gyp: every target builds its C with -Wall -Wextra -Werror and silences nothing', () => {
  const names = gyp.targets.map((t) => t.target_name).sort();
  assert.deepEqual(names, ['pmon3-exec', 'pmon3-log', 'pmon3_native']);
  for (const t of gyp.targets) {
    const flags = t.cflags ?? [];
    for (const f of REQUIRED) assert.ok(flags.includes(f), `${t.target_name}: cflags lack ${f} (${flags.join(' ')})`);
    const off = flags.filter((f) => /^-Wno-|^-w$|^-Wno-error/.test(f));
    assert.deepEqual(off, [], `${t.target_name}: cflags turn warnings off`);
  }
  // Every C file under internal/native is a source of some target (none built without the flags).
  const sources = gyp.targets.flatMap((t) => t.sources).sort();
  const cFiles = fs.readdirSync(path.join(ROOT, 'internal', 'native')).filter((f) => f.endsWith('.c')).map((f) => `internal/native/${f}`);
  assert.deepEqual(sources, cFiles.sort());
});

test('the generated makefiles of the build pass those flags to the compiler', (t) => {
  for (const name of ['pmon3_native', 'pmon3-exec', 'pmon3-log']) {
    const mk = path.join(ROOT, 'build', `${name}.target.mk`);
    if (!fs.existsSync(mk)) {
      t.skip(`${mk} is missing (native parts not built by node-gyp here)`);
      return;
    }
    const release = /CFLAGS_Release :=([\s\S]*?)\n\n/.exec(fs.readFileSync(mk, 'utf8'));
    assert.ok(release, `${mk}: no CFLAGS_Release`);
    const flags = release[1]!.split(/[\s\\]+/).filter(Boolean);
    for (const f of REQUIRED) assert.ok(flags.includes(f), `${mk}: CFLAGS_Release lack ${f}`);
  }
});
