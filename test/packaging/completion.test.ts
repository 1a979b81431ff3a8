/**
 * Shell completion, in the real shells: the script `pmon3 completion <shell>`
 * prints is loaded into bash, zsh and fish, which then complete commands,
 * flags and the process names of a live test pmond — and still complete
 * commands, quickly and silently, when no pmond answers.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { COMMANDS } from '../../internal/cli/table';
import { COMMAND_SPECS, SHELLS } from '../../internal/cli/completion';
import { PMON3, ROOT, TestDaemon } from '../helpers/daemon';
import { stopDaemon } from './daemon-stop';
import { lines, run, which } from './util';
import { tempDir } from '../helpers/tmp';

let d: TestDaemon;
let tmp: string;
let env: NodeJS.ProcessEnv; // pmon3 on PATH, talking to the test daemon
let downEnv: NodeJS.ProcessEnv; // pmon3 on PATH, no daemon behind its socket
const scripts: Record<string, string> = {};

before(async () => {
  d = await TestDaemon.start();
  await d.json(['exec', '/bin/sleep', '--name', 'api-server', '-a', '300']);
  await d.json(['exec', '/bin/sleep', '--name', 'worker', '-a', '300']);
  tmp = tempDir('pmcomp-');
  const binDir = path.join(tmp, 'bin');
  fs.mkdirSync(binDir);
  fs.symlinkSync(PMON3, path.join(binDir, 'pmon3'));
  const PATH = [binDir, path.dirname(process.execPath), process.env.PATH ?? '/usr/bin:/bin'].join(':');
  env = { ...process.env, PATH, PMON3_CONF: d.conf, HOME: tmp };
  const downConf = path.join(tmp, 'down.yaml');
  fs.writeFileSync(downConf, `socket_path: ${JSON.stringify(path.join(tmp, 'nobody.sock'))}\n`);
  downEnv = { ...env, PMON3_CONF: downConf };
  for (const shell of SHELLS) {
    const r = await run(PMON3, ['completion', shell], { env });
    assert.equal(r.code, 0, r.stderr);
    scripts[shell] = path.join(tmp, `pmon3.${shell}`);
    fs.writeFileSync(scripts[shell]!, r.stdout);
  }
});

after(async () => {
  await stopDaemon(d);
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the committed completions/ files are what `pmon3 completion` prints (make completions)', () => {
  const files: Record<string, string> = { bash: 'pmon3.bash', zsh: '_pmon3', fish: 'pmon3.fish' };
  for (const shell of SHELLS) {
    const committed = fs.readFileSync(path.join(ROOT, 'completions', files[shell]!), 'utf8');
    assert.equal(committed, fs.readFileSync(scripts[shell]!, 'utf8'), `completions/${files[shell]} is stale: run make completions`);
  }
});

test('the completion table is the command table (names, aliases, flags, args)', () => {
  assert.deepEqual(COMMAND_SPECS.map((c) => c.name), COMMANDS.map((c) => c.name));
  for (const spec of COMMAND_SPECS) {
    const cmd = COMMANDS.find((c) => c.name === spec.name)!;
    assert.deepEqual(spec.aliases, [...cmd.aliases], `${spec.name} aliases`);
    assert.deepEqual(
      spec.flags.map((f) => [f.long, f.short, f.value === 'none']),
      cmd.flags.map((f) => [f.long, f.short, f.type === 'boolean']),
      `${spec.name} flags`,
    );
    assert.equal(spec.args.length, cmd.args.length, `${spec.name} positional arguments`);
  }
});

describe('bash', () => {
  // Fixed text: the script path and the words arrive as positional parameters.
  const DRIVER = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _pmon3_completion; printf "%s\\n" "${COMPREPLY[@]}"';
  const complete = async (words: string[], e = env): Promise<string[]> => {
    const r = await run('bash', ['--norc', '--noprofile', '-c', DRIVER, 'bash', scripts.bash!, ...words], { env: e });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'completion is silent');
    return lines(r.stdout);
  };

  test('registers _pmon3_completion for pmon3', async () => {
    const r = await run('bash', ['--norc', '--noprofile', '-c', 'source "$1" && complete -p pmon3', 'bash', scripts.bash!], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /-F _pmon3_completion pmon3/);
  });

  test('`pmon3 re<TAB>` offers reset and restart', async () => {
    assert.deepEqual((await complete(['pmon3', 're'])).sort(), ['reload', 'reset', 'restart']);
  });

  test('`pmon3 <TAB>` offers every command and alias', async () => {
    const got = await complete(['pmon3', '']);
    for (const w of ['exec', 'run', 'ls', 'list', 'del', 'delete', 'desc', 'show', 'stop', 'completion', 'version']) assert.ok(got.includes(w), `${w} in ${got}`);
  });

  test('`pmon3 stop <TAB>` offers the live daemon\'s process names', async () => {
    assert.deepEqual((await complete(['pmon3', 'stop', ''])).sort(), ['api-server', 'worker']);
    assert.deepEqual(await complete(['pmon3', 'delete', 'wo']), ['worker']);
    const ids = (await d.ls()).map((p: any) => String(p.id));
    assert.deepEqual((await complete(['pmon3', 'desc', ids[0]!.slice(0, 1)])).sort(), ids.filter((i) => i.startsWith(ids[0]!.slice(0, 1))).sort());
  });

  test('`pmon3 exec --n<TAB>` offers --name, --no-autorestart and --no-color', async () => {
    assert.deepEqual((await complete(['pmon3', 'exec', '--n'])).sort(), ['--name', '--no-autorestart', '--no-color']);
    assert.deepEqual(await complete(['pmon3', 'stop', '--f']), ['--force']);
    assert.deepEqual(await complete(['pmon3', 'completion', '']), ['bash', 'zsh', 'fish']);
  });

  test('a flag value is not a process name: `pmon3 log -n <TAB>` offers none', async () => {
    assert.deepEqual(await complete(['pmon3', 'log', '-n', '']), []);
    assert.deepEqual((await complete(['pmon3', 'log', '-n', '5', ''])).sort(), ['api-server', 'worker']);
  });

  test('with pmond down: silent, fast, commands still complete, no names', async () => {
    const t0 = Date.now();
    assert.deepEqual((await complete(['pmon3', 're'], downEnv)).sort(), ['reload', 'reset', 'restart']);
    assert.deepEqual(await complete(['pmon3', 'stop', 'w'], downEnv), []);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  });

  test('a daemon that accepts but never answers costs at most ~300 ms more', async () => {
    // A socket that listens and stays silent, like a hung pmond.
    const net = await import('node:net');
    const sock = path.join(tmp, 'hung.sock');
    const server = net.createServer(() => undefined);
    await new Promise<void>((r) => server.listen(sock, () => r()));
    const conf = path.join(tmp, 'hung.yaml');
    fs.writeFileSync(conf, `socket_path: ${JSON.stringify(sock)}\n`);
    try {
      const direct = await run(PMON3, ['--compbash', '--compgen', '2', 'stop', 'pmon3', 'stop', ''], { env: { ...env, PMON3_CONF: conf } });
      assert.equal(direct.code, 0);
      assert.equal(direct.stderr, '');
      assert.equal(direct.stdout.trim(), '');
      assert.ok(direct.ms < 3000, `took ${direct.ms} ms`);
    } finally {
      server.close();
    }
  });
});

describe('zsh', () => {
  const zsh = which('zsh');
  // Stub compadd (it only works inside a completion widget) to print what _pmon3 offers.
  const DRIVER = [
    'autoload -Uz compinit && compinit -u -D',
    'compadd() { [[ $1 == -a ]] && print -rl -- ${(P)2} }',
    '_files() { print -r -- "<files>" }',
    'source "$1"; shift',
    '[[ ${_comps[pmon3]} == _pmon3 ]] || { print -u2 "not registered"; exit 3 }',
    'words=("$@"); CURRENT=$#',
    '_pmon3',
  ].join('\n');
  const complete = async (words: string[], e = env): Promise<string[]> => {
    const r = await run(zsh!, ['-f', '-c', DRIVER, 'zsh', scripts.zsh!, ...words], { env: e });
    assert.equal(r.code, 0, r.stderr);
    return lines(r.stdout);
  };

  test('commands, process names, flags; files when nothing else fits', async (t) => {
    if (!zsh) return t.skip('zsh is not installed');
    const re = await complete(['pmon3', 're']);
    assert.ok(re.includes('reset') && re.includes('restart'), re.join(' '));
    assert.deepEqual((await complete(['pmon3', 'stop', ''])).sort(), ['api-server', 'worker']);
    const fl = await complete(['pmon3', 'exec', '--n']);
    assert.ok(fl.includes('--name') && fl.includes('--no-autorestart'), fl.join(' '));
    assert.deepEqual(await complete(['pmon3', 'stop', ''], downEnv), ['<files>']);
  });

  test('autoloads from $fpath as _pmon3 (#compdef)', async (t) => {
    if (!zsh) return t.skip('zsh is not installed');
    const fdir = path.join(tmp, 'zfunc');
    fs.mkdirSync(fdir, { recursive: true });
    fs.copyFileSync(scripts.zsh!, path.join(fdir, '_pmon3'));
    const AUTO = [
      'fpath=("$1" $fpath); shift',
      'autoload -Uz compinit && compinit -u -D',
      'compadd() { [[ $1 == -a ]] && print -rl -- ${(P)2} }',
      '[[ ${_comps[pmon3]} == _pmon3 ]] || { print -u2 "not registered"; exit 3 }',
      'words=("$@"); CURRENT=$#',
      '_pmon3',
    ].join('\n');
    const r = await run(zsh, ['-f', '-c', AUTO, 'zsh', fdir, 'pmon3', 'stop', 'a'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout).sort(), ['api-server', 'worker']);
  });
});

describe('fish', () => {
  const fish = which('fish');
  // `complete -C LINE` runs fish's real completion machinery on LINE.
  const DRIVER = 'source $argv[1]; complete -C $argv[2]';
  const complete = async (line: string, e = env): Promise<string[]> => {
    const r = await run(fish!, ['--no-config', '-c', DRIVER, scripts.fish!, line], { env: { ...e, XDG_CONFIG_HOME: tmp, XDG_DATA_HOME: tmp } });
    assert.equal(r.code, 0, r.stderr);
    return lines(r.stdout).map((l) => l.split('\t')[0]!);
  };

  test('commands, process names, flags', async (t) => {
    if (!fish) return t.skip('fish is not installed');
    assert.deepEqual((await complete('pmon3 re')).sort(), ['reload', 'reset', 'restart']);
    assert.deepEqual((await complete('pmon3 stop ')).sort(), ['api-server', 'worker']);
    assert.deepEqual((await complete('pmon3 exec --n')).sort(), ['--name', '--no-autorestart', '--no-color']);
    assert.deepEqual((await complete('pmon3 re', downEnv)).sort(), ['reload', 'reset', 'restart']);
  });
});
