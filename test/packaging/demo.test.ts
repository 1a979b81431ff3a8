/**
 * The README's quick start: `make demo` (contrib/demo/demo.sh start) brings up an
 * unprivileged pmond with embedded defaults and the sample app, and `make demo-stop`
 * ends both. Run here in a temp DEMO_DIR so a developer's own demo is left alone.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { ROOT } from '../helpers/daemon';
import { pidAlive, waitFor } from '../helpers/wait';
import { run } from './util';
import { tempDir } from '../helpers/tmp';

const tmp = tempDir('pmt-demo-');
// As root the demo runs as nobody, which must reach DEMO_DIR.
fs.chmodSync(tmp, 0o755);
const demoDir = path.join(tmp, 'demo');
const env = { ...process.env, DEMO_DIR: demoDir };
const script = path.join(ROOT, 'contrib', 'demo', 'demo.sh');
const started: number[] = [];

after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('demo start shows the sample app running; demo stop ends pmond and the app', async () => {
  const start = await run('bash', [script, 'start'], { env, cwd: ROOT, timeoutMs: 120_000 });
  const pmond = Number(fs.readFileSync(path.join(demoDir, 'pmond.pid'), 'utf8'));
  started.push(pmond);
  assert.equal(start.code, 0, start.stdout + start.stderr);
  assert.match(start.stdout, /│ demo-app +│ \d+ +│ 0 +│ running /);
  const ls = await run('bash', [script, 'pmon3', 'ls', '--json'], { env, cwd: ROOT });
  assert.equal(ls.code, 0, ls.stderr);
  const [app] = JSON.parse(ls.stdout) as Array<{ name: string; pid: number; status: string }>;
  assert.equal(app?.name, 'demo-app');
  started.push(app.pid);
  const stop = await run('bash', [script, 'stop'], { env, cwd: ROOT, timeoutMs: 60_000 });
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  assert.match(stop.stdout, /demo: pmond stopped/);
  assert.equal(pidAlive(pmond), false, 'pmond gone');
  await waitFor('the demo app to be gone', () => !pidAlive(app.pid), 10_000);
});
