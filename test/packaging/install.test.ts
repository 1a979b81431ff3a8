/**
 * make install / uninstall / systemd_install / systemd_uninstall into a DESTDIR: the
 * installed tree runs (pmon3 version, and an installed pmond that spawns a process), holds
 * only production dependencies, and the service files land where systemd and logrotate look.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';
import { makeEnv, run } from './util';
import { tempDir } from '../helpers/tmp';

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let tmp: string;
before(() => {
  tmp = tempDir('pminst-');
  fs.chmodSync(tmp, 0o755);
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** make <target> in this tree, reusing what `make build` built (INSTALL_PREREQS empty). */
async function make(target: string, vars: Record<string, string>): Promise<string> {
  const args = ['-C', ROOT, '--no-print-directory', target, 'INSTALL_PREREQS=', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)];
  const r = await run('make', args, { env: makeEnv(tmp), timeoutMs: 180_000 });
  assert.equal(r.code, 0, `make ${target}: ${r.stderr}`);
  return r.stdout;
}

const exists = (f: string): boolean => fs.existsSync(f);
const mode = (f: string): number => fs.statSync(f).mode & 0o7777;

describe('make install DESTDIR=… PREFIX=/usr/local', () => {
  let dest: string;
  const lib = (): string => path.join(dest, 'usr/local/lib/pmon3');
  before(async () => {
    dest = path.join(tmp, 'install');
    await make('install', { DESTDIR: dest, PREFIX: '/usr/local' });
  });

  test('the installed pmon3 runs: version exits 0 and prints the version', async () => {
    const bin = path.join(dest, 'usr/local/bin/pmon3');
    assert.equal(fs.readlinkSync(bin), '../lib/pmon3/bin/pmon3', 'a relative link, valid once DESTDIR is gone');
    const conf = path.join(tmp, 'nodaemon.yaml');
    fs.writeFileSync(conf, `socket_path: ${JSON.stringify(path.join(tmp, 'none.sock'))}\n`);
    const r = await run(bin, ['version'], { env: { ...process.env, PMON3_CONF: conf }, cwd: '/' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^pmon3 ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
  });

  test('the layout: app, production node_modules with the built addons, links, completions, hook', () => {
    for (const f of [
      'package.json',
      'dist/cmd/pmond/main.js',
      'dist/cmd/pmon3/main.js',
      'bin/pmon3',
      'bin/pmon3.js',
      'bin/pmon3-snapshot',
      'dist/fast/pmon3.blob',
      'dist/fast/pmon3-snapshot.js',
      'bin/pmond',
      'build/Release/pmon3_native.node',
      'build/Release/pmon3-exec',
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'node_modules/omelette/package.json',
    ]) {
      assert.ok(exists(path.join(lib(), f)), `${f} installed`);
    }
    for (const f of ['node_modules/typescript', 'node_modules/@types/node', 'node_modules/@oclif', 'dist/test', 'node_modules/better-sqlite3/deps']) {
      assert.ok(!exists(path.join(lib(), f)), `${f} not installed`);
    }
    for (const f of [
      'usr/local/bin/pmond',
      'usr/local/share/bash-completion/completions/pmon3',
      'usr/local/share/zsh/site-functions/_pmon3',
      'usr/local/share/fish/vendor_completions.d/pmon3.fish',
      'usr/local/share/pmon3/hooks/on_restart.sh',
    ]) {
      assert.ok(exists(path.join(dest, f)), `${f} installed`);
    }
    assert.equal(mode(path.join(dest, 'usr/local/share/pmon3/hooks/on_restart.sh')) & 0o111, 0o111, 'the hook is executable');
  });

  test('the installed pmond starts, loads its addons, and spawns a process', async () => {
    const dir = path.join(tmp, 'run');
    fs.mkdirSync(dir);
    const conf = path.join(dir, 'config.yaml');
    fs.writeFileSync(
      conf,
      [`data_dir: ${JSON.stringify(path.join(dir, 'data'))}`, `logs_dir: ${JSON.stringify(path.join(dir, 'logs'))}`, `socket_path: ${JSON.stringify(path.join(dir, 's.sock'))}`].join('\n') + '\n',
    );
    const env = { ...process.env, PMON3_CONF: conf };
    const pmond = spawn(path.join(dest, 'usr/local/bin/pmond'), [], { env, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
    let stderr = '';
    pmond.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const pmon3 = path.join(dest, 'usr/local/bin/pmon3');
    let childPid = 0;
    try {
      await waitFor('installed pmond to listen', () => stderr.includes('listening on') || pmond.exitCode !== null, 20_000);
      assert.equal(pmond.exitCode, null, `pmond exited: ${stderr}`);
      const v = await run(pmon3, ['version'], { env });
      assert.match(v.stdout, new RegExp(`^pmond ${VERSION.replace(/\./g, '\\.')}$`, 'm'), v.stdout + v.stderr);
      const e = await run(pmon3, ['exec', '/bin/sleep', '--name', 'installed', '-a', '300', '--json'], { env, cwd: dir });
      assert.equal(e.code, 0, e.stderr);
      childPid = (JSON.parse(e.stdout) as { pid: number }).pid;
      // Served from the installed start-up snapshot (install gives its stamp back node's mtime).
      const ls = await run(pmon3, ['ls', '--json'], { env: { ...env, PMON3_TRACE_START: '1' } });
      assert.equal(ls.stderr, 'pmon3: start: snapshot\n');
      assert.equal((JSON.parse(ls.stdout) as Array<{ status: string }>)[0]?.status, 'running');
      assert.equal((await run(pmon3, ['drop', '--force'], { env })).code, 0);
    } finally {
      if (pmond.exitCode === null && pmond.signalCode === null) {
        pmond.kill('SIGTERM');
        await waitFor('installed pmond to exit', () => pmond.exitCode !== null || pmond.signalCode !== null, 20_000).catch(() => pmond.kill('SIGKILL'));
      }
      if (childPid > 0) {
        try {
          process.kill(childPid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  });

  test('make uninstall removes the app, links and completions', async () => {
    await make('uninstall', { DESTDIR: dest, PREFIX: '/usr/local' });
    for (const f of ['usr/local/lib/pmon3', 'usr/local/bin/pmon3', 'usr/local/bin/pmond', 'usr/local/share/bash-completion/completions/pmon3', 'usr/local/share/pmon3']) {
      assert.ok(!exists(path.join(dest, f)), `${f} removed`);
    }
  });
});

describe('make systemd_install / systemd_uninstall DESTDIR=…', () => {
  let dest: string;
  let out: string;
  before(async () => {
    dest = path.join(tmp, 'service');
    out = await make('systemd_install', { DESTDIR: dest, PREFIX: '/usr/local' });
  });

  test('unit, logrotate, default config and directories with their modes; not started', () => {
    const unit = fs.readFileSync(path.join(dest, 'etc/systemd/system/pmond.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/pmond$/m, 'ExecStart follows PREFIX');
    assert.match(unit, /^KillMode=process$/m);
    assert.match(fs.readFileSync(path.join(dest, 'etc/logrotate.d/pmond'), 'utf8'), /^\/var\/log\/pmond\/\*\.log \/var\/log\/pmond\/\*\/\*\.log \{$/m);
    assert.equal(fs.readFileSync(path.join(dest, 'etc/pmond/config/config.yaml'), 'utf8'), fs.readFileSync(path.join(ROOT, 'rpm/config.yaml'), 'utf8'));
    assert.equal(mode(path.join(dest, 'var/lib/pmon3')), 0o700);
    assert.equal(mode(path.join(dest, 'var/log/pmond')), 0o755);
    assert.equal(mode(path.join(dest, 'etc/pmond/config')), 0o755);
    assert.ok(exists(path.join(dest, 'usr/local/bin/pmond')), 'the app is installed too');
    assert.match(out, /pmond not enabled/);
  });

  test('an existing config is kept on reinstall', async () => {
    const cfg = path.join(dest, 'etc/pmond/config/config.yaml');
    fs.writeFileSync(cfg, 'log_level: debug\n');
    await make('systemd_install', { DESTDIR: dest, PREFIX: '/usr/local' });
    assert.equal(fs.readFileSync(cfg, 'utf8'), 'log_level: debug\n');
  });

  test('systemd_uninstall removes unit, logrotate file and app; keeps config, data and logs', async () => {
    await make('systemd_uninstall', { DESTDIR: dest, PREFIX: '/usr/local' });
    for (const f of ['etc/systemd/system/pmond.service', 'etc/logrotate.d/pmond', 'usr/local/lib/pmon3', 'usr/local/bin/pmond']) {
      assert.ok(!exists(path.join(dest, f)), `${f} removed`);
    }
    for (const f of ['etc/pmond/config/config.yaml', 'var/lib/pmon3', 'var/log/pmond']) assert.ok(exists(path.join(dest, f)), `${f} kept`);
  });
});
