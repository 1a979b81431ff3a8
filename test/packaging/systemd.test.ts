/**
 * rpm/pmond.service: systemd's own checker accepts it without a single warning, and it says
 * what the crash-survival design needs (KillMode=process) without hardening that would break
 * spawning as other users.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PMOND, ROOT } from '../helpers/daemon';
import { run, which } from './util';
import { tempDir } from '../helpers/tmp';

const UNIT = path.join(ROOT, 'rpm', 'pmond.service');

/** key=value settings, comments dropped. */
function settings(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    m.set(k, [...(m.get(k) ?? []), line.slice(eq + 1)]);
  }
  return m;
}

test('systemd-analyze verify accepts pmond.service with no warning', async (t) => {
  const analyze = which('systemd-analyze');
  if (!analyze) return t.skip('systemd-analyze is not installed (Debian package systemd)');
  // verify checks that ExecStart exists: point it at this tree's pmond, the rest unchanged.
  const dir = tempDir('pmunit-');
  try {
    const text = fs.readFileSync(UNIT, 'utf8');
    assert.match(text, /^ExecStart=\/usr\/bin\/pmond$/m);
    const copy = path.join(dir, 'pmond.service');
    fs.writeFileSync(copy, text.replace(/^ExecStart=\/usr\/bin\/pmond$/m, `ExecStart=${PMOND}`));
    const r = await run(analyze, ['verify', copy]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings');

    // The checker does catch mistakes (so the empty stderr above means something).
    const bad = path.join(dir, 'bad', 'pmond.service');
    fs.mkdirSync(path.dirname(bad));
    fs.writeFileSync(bad, fs.readFileSync(copy, 'utf8').replace(/^Type=simple$/m, 'Type=simpel').replace(/^KillMode=process$/m, 'KillMode=none'));
    const rb = await run(analyze, ['verify', bad]);
    assert.match(rb.stderr, /simpel/);
    assert.match(rb.stderr, /KillMode=none/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the unit keeps children alive across pmond restarts and can spawn as any user', () => {
  const s = settings(fs.readFileSync(UNIT, 'utf8'));
  const one = (k: string): string | undefined => s.get(k)?.at(-1);
  assert.equal(one('Type'), 'simple');
  assert.equal(one('KillMode'), 'process', 'children survive a pmond restart and are re-adopted');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('ExecStart'), '/usr/bin/pmond');
  assert.equal(one('Environment'), 'PMON3_CONF=/etc/pmond/config/config.yaml');
  assert.ok(!s.has('User') || one('User') === 'root', 'runs as root');
  assert.equal(one('WantedBy'), 'multi-user.target');
  assert.ok(Number(one('TimeoutStopSec')) > 10, 'longer than the default stop_timeout');
  // Settings that would break setpriv, setuid children, log writing or the JIT.
  for (const k of ['NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'DynamicUser', 'MemoryDenyWriteExecute', 'CapabilityBoundingSet', 'SystemCallFilter', 'ReadOnlyPaths']) {
    assert.ok(!s.has(k), `${k} must not be set`);
  }
});
