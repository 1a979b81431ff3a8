/**
 * The CLI as a newcomer meets it: help and version everywhere, one-line parse
 * errors with did-you-mean (and as JSON with --json), exec's rules (words
 * after the binary, PATH lookup, interpreters, default names), `all`, `logs`,
 * colours on a terminal only, tables that fit the width, ls filters and sort,
 * desc's two columns. Outputs are compared exactly where they are stable.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PMON3, TestDaemon } from '../helpers/daemon';
import { which as whichOrNot } from '../packaging/util';
import { waitFor } from '../helpers/wait';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.start();
});
after(async () => {
  await d?.stop();
});

/** A file in the suite's dir. */
function file(name: string, text: string, mode = 0o644): string {
  const f = path.join(d.dir, name);
  fs.writeFileSync(f, text, { mode });
  fs.chmodSync(f, mode);
  return f;
}

/** Where a command is in this PATH (as the CLI looks it up). */
function which(cmd: string): string {
  const f = whichOrNot(cmd);
  if (!f) throw new Error(`${cmd} not in PATH`);
  return f;
}

/** Run bin/pmon3 under a pseudo-terminal (script), with the environment given. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const cmd = [PMON3, ...args].map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, PMON3_CONF: d.conf, TERM: 'xterm', ...env } }, (err, stdout) =>
      err ? reject(err) : resolve(stdout),
    );
  });
}

describe('what users type', () => {
  test('-v and --version print the version; -h, help and --help print help, exit 0', async () => {
    for (const a of [['-v'], ['--version']]) {
      const r = await d.run(a);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'pmon3 0.1.0\n', '']);
    }
    const h = await d.run(['exec', '-h']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /^pmon3 exec: Start a new process and keep it running\n\nUsage: pmon3 exec BINARY \[flags\] \[-- ARGS\.\.\.\]\n/);
  });

  test('an unknown command: one line, exit 2, with a did-you-mean', async () => {
    const cases: Array<[string[], string]> = [
      [['restrat', 'web'], 'pmon3: unknown command "restrat"; did you mean "restart"? (pmon3 help lists the commands)\n'],
      [['versoin'], 'pmon3: unknown command "versoin"; did you mean "version"? (pmon3 help lists the commands)\n'],
      [['lgo', 'x'], 'pmon3: unknown command "lgo"; did you mean "log"? (pmon3 help lists the commands)\n'],
      [['frobnicate'], 'pmon3: unknown command "frobnicate" (pmon3 help lists the commands)\n'],
      [['help', 'restrat'], 'pmon3: help: unknown command "restrat"; did you mean "restart"?\n'],
    ];
    for (const [args, err] of cases) {
      const r = await d.run(args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', err], args.join(' '));
    }
  });

  test('every parse error is one line and exit 2; with --json the same JSON error object as daemon errors', async () => {
    const cases: Array<[string[], string]> = [
      [['ls', '--sotr', 'name'], 'pmon3: ls: unknown flag "--sotr"; did you mean "--sort"? (pmon3 ls --help)'],
      [['stop'], 'pmon3: stop: missing TARGET (usage: pmon3 stop TARGET [flags])'],
      [['stop', 'a', 'b'], 'pmon3: stop: unexpected argument "b" (usage: pmon3 stop TARGET [flags])'],
      [['log', 'x', '-n', 'many'], 'pmon3: log: -n takes a whole number, not "many"'],
      [['log', 'x', '--lines'], 'pmon3: log: --lines needs a value (--lines N)'],
      [['ls', '--sort', 'nmae'], 'pmon3: ls: --sort takes id, name, status, user, restarts, cpu, mem, uptime, not "nmae"; did you mean "name"?'],
      [['completion', 'tcsh'], 'pmon3: completion: SHELL is bash, zsh, fish, not "tcsh"'],
      [['stop', 'x', '-f', '-f'], 'pmon3: stop: -f given twice'],
      [['--frob'], 'pmon3: unknown flag "--frob" (pmon3 help lists the commands)'],
    ];
    for (const [args, line] of cases) {
      const r = await d.run(args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', `${line}\n`], args.join(' '));
      const j = await d.run([...args, '--json']);
      assert.equal(j.code, 2);
      assert.equal(j.stderr, `${line}\n`);
      assert.deepEqual(JSON.parse(j.stdout), { error: { code: 'INVALID_ARGUMENT', message: line.slice('pmon3: '.length) } });
    }
    // A daemon error has the same shape.
    const nf = await d.run(['desc', 'nobody-here', '--json']);
    assert.equal(nf.code, 3);
    assert.deepEqual(JSON.parse(nf.stdout), { error: { code: 'NOT_FOUND', message: 'process "nobody-here" not found' } });
  });

  test('exec: a bare name is found in the caller\'s PATH; the default name drops the extension', async () => {
    const p = await d.json(['exec', 'sleep', '--', '300']);
    assert.equal(p.name, 'sleep');
    assert.equal(p.process_file, which('sleep'));
    assert.deepEqual(p.args, ['300']);
    const script = file('app.sh', '#!/bin/sh\nexec sleep 300\n', 0o755);
    const a = await d.json(['exec', script]);
    assert.equal(a.name, 'app');
    assert.equal(a.process_file, script, 'an executable script runs as it is');
    await d.json(['del', 'sleep', '-f']);
    await d.json(['del', 'app', '-f']);
  });

  test('exec: a script that is not executable runs through the interpreter its #! line or extension names', async () => {
    const js = file('server.js', 'console.log("js", process.argv.slice(2).join(" ")); setInterval(() => {}, 1000);\n');
    const a = await d.json(['exec', js, '--', 'x', 'y']);
    assert.deepEqual([a.name, a.process_file, a.args], ['server', which('node'), [js, 'x', 'y']]);
    const sh = file('job.sh', 'echo sh-ran "$@"; sleep 300\n');
    const b = await d.json(['exec', sh, '-a', 'one']);
    assert.deepEqual([b.name, b.process_file, b.args], ['job', which('sh'), [sh, 'one']]);
    const shebang = file('tool.txt', '#!/usr/bin/env node\nconsole.log("shebang-ran"); setInterval(() => {}, 1000);\n');
    const c = await d.json(['exec', shebang]);
    assert.deepEqual([c.name, c.process_file, c.args], ['tool', which('node'), [shebang]]);
    const forced = await d.json(['exec', sh, '--name', 'forced', '--interpreter', 'bash']);
    assert.deepEqual([forced.process_file, forced.args], [which('bash'), [sh]]);
    await waitFor('the scripts to run', () => {
      const logs = ['server', 'job', 'tool'].map((n) => fs.readFileSync(path.join(d.logs, `${n}.log`), 'utf8'));
      return logs[0]!.includes('js x y') && logs[1]!.includes('sh-ran one') && logs[2]!.includes('shebang-ran');
    });
    for (const n of ['server', 'job', 'tool', 'forced']) await d.json(['del', n, '-f']);
  });

  test('pmond down: a user who is not root is told how to run their own', async () => {
    const conf = file('down.yaml', `socket_path: ${path.join(d.dir, 'nobody-here.sock')}\n`, 0o644);
    const r = await d.run(['ls'], { uid: 65534, gid: 65534, cwd: '/', env: { PMON3_CONF: conf, HOME: '/nonexistent' } });
    assert.deepEqual([r.code, r.stdout], [7, '']);
    assert.equal(r.stderr, `pmon3: cannot reach pmond at ${path.join(d.dir, 'nobody-here.sock')} — is it running? (your own: pmon3 daemon start)\n`);
  });

  test('all: stop, start, restart, del and reset act on every process the caller may see', async () => {
    for (const n of ['all-a', 'all-b']) await d.json(['exec', '/bin/sleep', '--name', n, '--', '300']);
    const stopped = await d.json(['stop', 'all']);
    assert.deepEqual(stopped.map((p: any) => [p.name, p.status]), [['all-a', 'stopped'], ['all-b', 'stopped']]);
    const started = await d.json(['start', 'all']);
    assert.deepEqual(started.map((p: any) => [p.name, p.status, p.restarts]), [['all-a', 'running', 0], ['all-b', 'running', 0]]);
    const restarted = await d.json(['restart', 'all']);
    assert.deepEqual(restarted.map((p: any) => [p.name, p.status, p.restarts]), [['all-a', 'running', 1], ['all-b', 'running', 1]]);
    const reset = await d.json(['reset', 'all']);
    assert.deepEqual(reset.map((p: any) => p.restarts), [0, 0]);
    const human = await d.run(['del', 'all']);
    assert.deepEqual([human.code, human.stdout], [0, 'deleted 2 processes\n']);
    assert.deepEqual(await d.ls(), []);
  });
});

describe('logs', () => {
  before(async () => {
    const printer = file('printer.sh', '#!/bin/sh\ni=1\nwhile [ $i -le 3 ]; do echo "$1 line $i"; i=$((i+1)); done\nwhile :; do sleep 0.2; [ -f "$2" ] && echo "$1 more" && rm -f "$2"; done\n', 0o755);
    await d.json(['exec', printer, '--name', 'web', '--', 'w', path.join(d.dir, 'web.more')]);
    await d.json(['exec', printer, '--name', 'worker-long', '--', 'k', path.join(d.dir, 'k.more')]);
    await waitFor('both logs', () => ['web', 'worker-long'].every((n) => fs.readFileSync(path.join(d.logs, `${n}.log`), 'utf8').includes('line 3')));
  });
  after(async () => {
    await d.json(['del', 'all', '-f']);
  });

  test('no target: every process, each line prefixed with its name, -n lines of each', async () => {
    const r = await d.run(['logs', '-n', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      ['web         | w line 2', 'web         | w line 3', 'worker-long | k line 2', 'worker-long | k line 3', ''].join('\n'),
    );
    const one = await d.run(['logs', 'worker-long', '-n', '1']);
    assert.equal(one.stdout, 'worker-long | k line 3\n');
    const j = await d.run(['logs', 'web', '-n', '1', '--json']);
    assert.deepEqual(JSON.parse(j.stdout), { id: (await d.get('web')).id, name: 'web', data: 'w line 3\n' });
    const missing = await d.run(['logs', 'web', 'nope']);
    assert.deepEqual([missing.code, missing.stderr], [3, 'pmon3: process "nope" not found\n']);
  });

  test('-f follows every log until interrupted', async () => {
    const child = spawn(PMON3, ['logs', '-f', '-n', '0'], { env: { ...process.env, PMON3_CONF: d.conf } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // Each round asks both printers for a line until both have been seen (logs -f may start after a round).
      await waitFor('lines from both processes', () => {
        for (const f of ['web.more', 'k.more']) if (!fs.existsSync(path.join(d.dir, f))) fs.writeFileSync(path.join(d.dir, f), '');
        return out.includes('web         | w more\n') && out.includes('worker-long | k more\n');
      }, 15_000, 300);
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
  });
});

describe('what users see', () => {
  before(async () => {
    await d.json(['exec', '/bin/sleep', '--name', 'alpha', '--', '300']);
    await d.json(['exec', '/bin/sh', '--name', 'beta-with-a-rather-long-name', '-e', 'SECRET=1', '--', '-c', 'sleep 300', 'two words']);
    await d.json(['stop', 'alpha']);
  });
  after(async () => {
    await d.json(['del', 'all', '-f']);
  });

  test('on a terminal the status is coloured; through a pipe, with NO_COLOR or --no-color it is not', async () => {
    const tty = await onTerminal(['ls']);
    assert.ok(tty.includes('\x1b[32mrunning\x1b[0m'), JSON.stringify(tty));
    assert.ok(tty.includes('\x1b[2mstopped\x1b[0m'));
    for (const plain of [await onTerminal(['ls'], { NO_COLOR: '1' }), await onTerminal(['ls', '--no-color']), await onTerminal(['ls'], { TERM: 'dumb' })]) {
      assert.equal(plain.includes('\x1b['), false, JSON.stringify(plain));
    }
    const piped = await d.run(['ls']);
    assert.equal(piped.stdout.includes('\x1b['), false);
    assert.ok((await onTerminal(['desc', 'alpha'])).includes('\x1b[2mstopped\x1b[0m'));
  });

  test('the table fits COLUMNS: long names are cut with …, then columns are left out; rows never wrap', async () => {
    const full = await d.run(['ls']);
    assert.ok(full.stdout.split('\n')[0]!.length > 80);
    for (const cols of [80, 60, 40]) {
      const r = await d.run(['ls'], { env: { COLUMNS: String(cols) } });
      const lines = r.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 6, 'one line per row');
      for (const l of lines) assert.ok(l.length <= cols, `${cols}: ${l}`);
      assert.match(r.stdout, /│ ID │ Name/);
      assert.match(r.stdout, /Status/);
    }
    const r60 = await d.run(['ls'], { env: { COLUMNS: '60' } });
    assert.match(r60.stdout, /beta-with-a\S*… /);
    assert.match((await d.run(['ls'], { env: { COLUMNS: '200' } })).stdout, /beta-with-a-rather-long-name /);
  });

  test('ls filters by pattern, status and user, and sorts', async () => {
    const names = async (args: string[]): Promise<string[]> => (await d.json(['ls', ...args])).map((p: any) => p.name);
    assert.deepEqual(await names(['b*']), ['beta-with-a-rather-long-name']);
    assert.deepEqual(await names(['?lpha']), ['alpha']);
    assert.deepEqual(await names(['--status', 'stopped']), ['alpha']);
    assert.deepEqual(await names(['-s', 'stopped', '-s', 'running']), ['alpha', 'beta-with-a-rather-long-name']);
    assert.deepEqual(await names(['--user', 'root']), ['alpha', 'beta-with-a-rather-long-name']);
    assert.deepEqual(await names(['--user', 'nobody']), []);
    assert.deepEqual(await names(['--sort', 'name', '-r']), ['beta-with-a-rather-long-name', 'alpha']);
    assert.deepEqual(await names(['--sort', 'status']), ['beta-with-a-rather-long-name', 'alpha']);
  });

  test('desc is two columns with every value the user set', async () => {
    const r = await d.run(['desc', 'beta-with-a-rather-long-name']);
    assert.equal(r.code, 0);
    const rows = Object.fromEntries(r.stdout.trimEnd().split('\n').map((l) => [l.slice(0, 12).trim(), l.slice(14)]));
    assert.equal(rows.name, 'beta-with-a-rather-long-name');
    assert.equal(rows.status, 'running');
    assert.equal(rows.process_file, '/bin/sh');
    assert.equal(rows.args, "-c 'sleep 300' 'two words'");
    assert.equal(rows.env, 'SECRET');
    assert.equal(rows.cwd, d.dir);
    assert.equal(rows.user, 'root (uid 0, gid 0)');
    assert.match(rows.log!, /beta-with-a-rather-long-name\.log$/);
    assert.match(r.stdout, /^id {12}\d+$/m);
  });

  test('pmon3 ls | head -1 ends quietly', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile('sh', ['-c', `"${PMON3}" ls | head -1 >/dev/null`], { env: { ...process.env, PMON3_CONF: d.conf } }, (err, _o, stderr) =>
        resolve({ code: err ? 1 : 0, stderr }),
      );
    });
    assert.deepEqual(r, { code: 0, stderr: '' });
  });
});
