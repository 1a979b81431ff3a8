/**
 * The README's quick start: `make demo` (contrib/demo/demo.sh start) brings up a pmond with
 * its files under DEMO_DIR, listening where a plain `pmon3` of the same user looks, and the
 * sample app; `make demo-stop` ends both. Run here in temp DIRs so a developer's own demo is
 * left alone, and never on the system socket: as root DEMO_SOCKET names a socket in the temp
 * dir; as a throwaway user the per-user default is under a temp XDG_RUNTIME_DIR.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PMON3, ROOT, TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { asUserArgv, isRoot, TestUsers, type TestUser } from '../helpers/users';
import { pidAlive, waitFor } from '../helpers/wait';
import { run } from './util';

const script = path.join(ROOT, 'contrib', 'demo', 'demo.sh');
const started: number[] = [];
const users = new TestUsers();
let other: TestDaemon | undefined;

after(async () => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await other?.stop();
  users.cleanup();
});

/** A fresh DEMO_DIR (its parent reachable by nobody, who runs the app when we are root). */
function demoDir(): string {
  return path.join(tempDir('pmt-demo-', 0o755), 'demo');
}

/** start, check the app runs (through `pmon3 ls` as `ls` says), stop, check both are gone. */
async function startAndStop(
  env: NodeJS.ProcessEnv,
  dir: string,
  ls: () => Promise<{ code: number; stdout: string; stderr: string }>,
  wrap: (argv: string[]) => [string, string[]] = (argv) => [argv[0]!, argv.slice(1)],
): Promise<{ start: string; app: { name: string; pid: number; user: string } }> {
  const [sf, sa] = wrap(['bash', script, 'start']);
  const start = await run(sf, sa, { env, cwd: ROOT, timeoutMs: 120_000 });
  const pmond = Number(fs.readFileSync(path.join(dir, 'pmond.pid'), 'utf8'));
  started.push(pmond);
  assert.equal(start.code, 0, start.stdout + start.stderr);
  assert.match(start.stdout, /│ demo-app +│ \d+ +│ 0 +│ running /);
  const r = await ls();
  assert.equal(r.code, 0, r.stderr);
  const [app] = JSON.parse(r.stdout) as Array<{ name: string; pid: number; user: string }>;
  assert.equal(app?.name, 'demo-app');
  started.push(app.pid);
  const [tf, ta] = wrap(['bash', script, 'stop']);
  const stop = await run(tf, ta, { env, cwd: ROOT, timeoutMs: 60_000 });
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  assert.match(stop.stdout, /demo: pmond stopped/);
  assert.equal(pidAlive(pmond), false, 'pmond gone');
  await waitFor('the demo app to be gone', () => !pidAlive(app.pid), 10_000);
  return { start: start.stdout, app };
}

test('demo start shows the sample app running on DEMO_SOCKET; demo stop ends pmond and the app', async () => {
  const dir = demoDir();
  const sock = path.join(path.dirname(dir), 'demo.sock');
  const env = { ...process.env, DEMO_DIR: dir, DEMO_SOCKET: sock };
  const { start, app } = await startAndStop(env, dir, () => run('bash', [script, 'pmon3', 'ls', '--json'], { env, cwd: ROOT }));
  assert.match(start, new RegExp(`pmond running \\(pid \\d+\\) on ${sock}`));
  // As root pmond runs as root (as the service does) and the app as nobody.
  if (isRoot()) assert.equal(app.user, 'nobody');
  assert.ok(!fs.existsSync(sock), 'the socket is gone');
});

test('a pmond already answering on that socket is left alone: the demo listens in DEMO_DIR and says so', async () => {
  other = await TestDaemon.start();
  const dir = demoDir();
  const env = { ...process.env, DEMO_DIR: dir, DEMO_SOCKET: other.socket };
  const { start } = await startAndStop(env, dir, () => run('bash', [script, 'pmon3', 'ls', '--json'], { env, cwd: ROOT }));
  assert.match(start, new RegExp(`a pmond already answers on ${other.socket}; the demo's listens on ${dir}/pmon3.sock`));
  assert.match(start, /PMON3_CONF=\S+ bin\/pmon3 ls/);
  assert.deepEqual(await other.ls(), [], 'the other pmond got no demo-app');
});

describe('as a user with no config', { skip: isRoot() ? false : 'needs root to make a throwaway user' }, () => {
  let u: TestUser;
  let runtime: string;
  before(() => {
    u = users.add('dx-dora');
    runtime = tempDir('pmt-run-', 0o755);
    fs.chownSync(runtime, u.uid, u.gid);
    fs.chmodSync(runtime, 0o700);
  });

  test('the demo listens on her per-user socket: a plain pmon3 ls finds it', async () => {
    const dir = demoDir();
    fs.chownSync(path.dirname(dir), u.uid, u.gid);
    // What her login would give her: no PMON3_CONF, her HOME, a runtime dir of her own.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: `/home/${u.name}`,
      USER: u.name,
      LOGNAME: u.name,
      XDG_RUNTIME_DIR: runtime,
      DEMO_DIR: dir,
    };
    const wrap = (argv: string[]): [string, string[]] => asUserArgv(u, argv);
    let dirMode = 0;
    const plain = (): ReturnType<typeof run> => {
      dirMode = fs.statSync(path.join(runtime, 'pmon3')).mode & 0o777; // while the demo runs
      const [f, a] = wrap([PMON3, 'ls', '--json']);
      const { DEMO_DIR: _d, ...without } = env;
      return run(f, a, { env: without, cwd: '/' });
    };
    const { start, app } = await startAndStop(env, dir, plain, wrap);
    assert.match(start, new RegExp(`pmond running \\(pid \\d+\\) on ${runtime}/pmon3/pmon3.sock`));
    assert.match(start, /try {3}bin\/pmon3 ls/);
    assert.equal(app.user, u.name);
    assert.equal(dirMode, 0o700, 'the socket dir is hers alone');
    assert.equal(fs.existsSync(path.join(runtime, 'pmon3')), false, 'demo stop removed the emptied socket dir');
  });
});
