/**
 * make rpm: rpmbuild packages the built tree; the package lists the app with its production
 * dependencies and built addons, pmon3/pmond on PATH, the unit, logrotate, completions, the
 * default config and the directories with their modes; and what it holds runs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../helpers/daemon';
import { lines, makeEnv, run, which } from './util';
import { tempDir } from '../helpers/tmp';

const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const rpmbuild = which('rpmbuild');

let tmp: string;
let pkg = '';
/** rpm with HOME in the temp dir: its database (~/.rpmdb on Debian) is made there, not in root's home. */
const rpm = (args: string[]): ReturnType<typeof run> => run('rpm', args, { env: { ...process.env, HOME: tmp } });
before(async () => {
  tmp = tempDir('pmrpm-');
  if (!rpmbuild) return;
  const topdir = path.join(tmp, 'rpmbuild');
  const r = await run('make', ['-C', ROOT, '--no-print-directory', 'rpm', `RPMTOPDIR=${topdir}`, 'INSTALL_PREREQS='], { env: makeEnv(tmp), timeoutMs: 240_000 });
  assert.equal(r.code, 0, `make rpm: ${r.stderr}`);
  pkg = lines(r.stdout).find((l) => l.endsWith('.rpm')) ?? '';
  assert.ok(pkg && fs.existsSync(pkg), `make rpm names the package it built: ${r.stdout}`);
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('rpm -qlp lists the app, its production dependencies, PATH links, unit, logrotate, completions, config', async (t) => {
  if (!rpmbuild) return t.skip('rpmbuild is not installed (Debian package rpm)');
  assert.match(path.basename(pkg), new RegExp(`^pmon3-${VERSION.replace(/\./g, '\\.')}-1\\.[a-z0-9_]+\\.rpm$`));
  const r = await rpm(['-qlp', pkg]);
  assert.equal(r.code, 0, r.stderr);
  const files = new Set(lines(r.stdout));
  const want = [
    '/usr/bin/pmon3',
    '/usr/bin/pmond',
    '/usr/lib/pmon3/package.json',
    '/usr/lib/pmon3/bin/pmon3',
    '/usr/lib/pmon3/bin/pmon3.js',
    '/usr/lib/pmon3/bin/pmon3-snapshot',
    '/usr/lib/pmon3/dist/fast/pmon3.blob',
    '/usr/lib/pmon3/bin/pmond',
    '/usr/lib/pmon3/dist/cmd/pmon3/main.js',
    '/usr/lib/pmon3/dist/cmd/pmond/main.js',
    '/usr/lib/pmon3/dist/internal/cli/completion.js',
    '/usr/lib/pmon3/build/Release/pmon3_native.node',
    '/usr/lib/pmon3/build/Release/pmon3-exec',
    '/usr/lib/pmon3/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    '/usr/lib/pmon3/node_modules/omelette/package.json',
    '/usr/lib/systemd/system/pmond.service',
    '/etc/logrotate.d/pmond',
    '/etc/pmond/config/config.yaml',
    '/usr/share/bash-completion/completions/pmon3',
    '/usr/share/zsh/site-functions/_pmon3',
    '/usr/share/fish/vendor_completions.d/pmon3.fish',
    '/usr/share/pmon3/hooks/on_restart.sh',
    '/var/lib/pmon3',
    '/var/log/pmond',
  ];
  assert.deepEqual(want.filter((f) => !files.has(f)), [], 'missing from the package');
  const dev = [...files].filter((f) => /\/node_modules\/(typescript|@types\/node|esbuild)\//.test(f) || f.includes('/dist/test/'));
  assert.deepEqual(dev, [], 'no dev dependencies or tests');
  t.diagnostic(`${files.size} entries, ${(fs.statSync(pkg).size / 1e6).toFixed(1)} MB`);
});

test('modes, config files and scriptlets', async (t) => {
  if (!rpmbuild) return t.skip('rpmbuild is not installed (Debian package rpm)');
  const v = lines((await rpm(['-qlvp', pkg])).stdout);
  const entry = (f: string): string => v.find((l) => l.endsWith(` ${f}`)) ?? '';
  assert.match(entry('/var/lib/pmon3'), /^drwx------ .* root +root /);
  assert.match(entry('/var/log/pmond'), /^drwxr-xr-x /);
  assert.match(v.find((l) => l.includes(' /usr/bin/pmond -> ')) ?? '', /-> \.\.\/lib\/pmon3\/bin\/pmond$/);
  assert.deepEqual(lines((await rpm(['-qcp', pkg])).stdout).sort(), ['/etc/logrotate.d/pmond', '/etc/pmond/config/config.yaml']);
  const scripts = (await rpm(['-qp', '--scripts', pkg])).stdout;
  assert.match(scripts, /install -d -m 0700 \/var\/lib\/pmon3/);
  assert.match(scripts, /install -d -m 0755 \/var\/log\/pmond/);
  assert.match(scripts, /install -d -m 0755 \/etc\/pmond \/etc\/pmond\/config/);
  // The CLI's start-up snapshot is rebuilt for the machine's node at install and when nodejs changes.
  assert.match(scripts, /^\/usr\/lib\/pmon3\/bin\/pmon3-snapshot .*\|\| :$/m);
  const triggers = (await rpm(['-qp', '--triggers', pkg])).stdout;
  assert.match(triggers, /^triggerin scriptlet .* -- nodejs$/m);
  assert.match(triggers, /\/usr\/lib\/pmon3\/bin\/pmon3-snapshot/);
  const unit = (await rpm(['-qp', '--qf', '%{NAME} %{VERSION}', pkg])).stdout;
  assert.equal(unit, `pmon3 ${VERSION}`);
});

test('what the package holds runs: its pmon3 prints the version', async (t) => {
  if (!rpmbuild) return t.skip('rpmbuild is not installed (Debian package rpm)');
  const rpm2archive = which('rpm2archive');
  if (!rpm2archive) return t.skip('rpm2archive is not installed');
  const root = path.join(tmp, 'root');
  fs.mkdirSync(root);
  const copy = path.join(root, 'p.rpm');
  fs.copyFileSync(pkg, copy);
  assert.equal((await run(rpm2archive, [copy])).code, 0);
  const x = await run('tar', ['-xzf', `${copy}.tgz`, '-C', root]);
  assert.equal(x.code, 0, x.stderr);
  assert.match(fs.readFileSync(path.join(root, 'usr/lib/systemd/system/pmond.service'), 'utf8'), /^ExecStart=\/usr\/bin\/pmond$/m);
  const conf = path.join(tmp, 'none.yaml');
  fs.writeFileSync(conf, `socket_path: ${JSON.stringify(path.join(tmp, 'none.sock'))}\n`);
  const r = await run(path.join(root, 'usr/bin/pmon3'), ['version'], { env: { ...process.env, PMON3_CONF: conf }, cwd: '/' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^pmon3 ${VERSION.replace(/\./g, '\\.')}$`, 'm'));
  // What %post runs: the packaged tree builds its own snapshot, and its pmon3 then starts from it.
  const snap = await run(path.join(root, 'usr/lib/pmon3/bin/pmon3-snapshot'), [], { cwd: '/' });
  assert.equal(snap.code, 0, snap.stderr);
  const ls = await run(path.join(root, 'usr/bin/pmon3'), ['ls'], { env: { ...process.env, PMON3_CONF: conf, PMON3_TRACE_START: '1' }, cwd: '/' });
  assert.equal(ls.code, 7, 'no pmond there');
  assert.match(ls.stderr, /^pmon3: start: snapshot\npmon3: cannot reach pmond at /);
});
