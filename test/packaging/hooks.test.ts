/**
 * contrib/hooks/on_restart.sh, the example hook the README documents: run by a live pmond
 * when it restarts a crashing process, it logs the process name (read with jq from $1); fed
 * a hostile name it logs it as text and runs nothing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, TestDaemon } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';
import { stopDaemon } from './daemon-stop';
import { run, which } from './util';
import { tempDir } from '../helpers/tmp';

const HOOK = path.join(ROOT, 'contrib', 'hooks', 'on_restart.sh');
const jq = which('jq');

let tmp: string;
let d: TestDaemon | undefined;
before(() => {
  tmp = tempDir('pmhook-');
  fs.chmodSync(tmp, 0o755);
});
after(async () => {
  await stopDaemon(d);
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('pmond runs it on a restart: one line naming the process', async (t) => {
  if (!jq) return t.skip('jq is not installed (Debian package jq)');
  const log = path.join(tmp, 'hooks.log');
  // The hook's environment is only PATH, so a wrapper names the test's log file.
  const wrapper = path.join(tmp, 'on_restart');
  fs.writeFileSync(wrapper, `#!/bin/sh\nPMON3_HOOK_LOG=${JSON.stringify(log)} exec ${JSON.stringify(HOOK)} "$1"\n`, { mode: 0o755 });
  d = await TestDaemon.start({ config: { on_process_restart_exec: wrapper } });
  await d.json(['exec', '/bin/false', '--name', 'flaky']);
  const text = await waitFor('the hook to log a restart', () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''), 15_000);
  assert.match(text.split('\n')[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ restarted flaky \(id \d+, pid (\d+|none), restarts \d+\)$/);
});

test('a hostile name is logged as text, never run', async (t) => {
  if (!jq) return t.skip('jq is not installed (Debian package jq)');
  const log = path.join(tmp, 'direct.log');
  const marker = path.join(tmp, 'pwned');
  const name = `x$(touch ${marker})\`touch ${marker}\`;touch ${marker}`;
  const r = await run(HOOK, [JSON.stringify({ id: 7, name, pid: 42, restarts: 3 })], { env: { PATH: process.env.PATH, PMON3_HOOK_LOG: log } });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!fs.existsSync(marker), 'nothing was executed');
  assert.ok(fs.readFileSync(log, 'utf8').includes(`restarted ${name} (id 7, pid 42, restarts 3)`));
});
