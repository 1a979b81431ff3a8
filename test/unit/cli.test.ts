/** The CLI's pure parts: the parser, suggestions, exec's binary and interpreter rules, ls's filters, the log prefixer, colour and width. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultName, execParams, type Fs, interpreterFor } from '../../internal/cli/args';
import { Prefixer } from '../../internal/cli/handlers/logs';
import { filterAndSort, globToRegExp } from '../../internal/cli/handlers/view';
import { outputWidth, useColor } from '../../internal/cli/io';
import { parseArgv } from '../../internal/cli/parse';
import { shellQuote } from '../../internal/cli/render';
import { editDistance, suggest } from '../../internal/cli/suggest';
import { COMMANDS } from '../../internal/cli/table';
import type { ProcessSummary } from '../../internal/protocol/methods';

const invalid = (argv: string[], message: string): void => {
  assert.throws(
    () => parseArgv(argv),
    (e: any) => e.code === 'INVALID_ARGUMENT' && e.message === message,
    argv.join(' '),
  );
};

test('flags anywhere before --, in every spelling; values are the next word whatever it starts with', () => {
  const r = parseArgv(['exec', '-n', '/bin/app', '--name=api', '-a', '-port=8080', '-e', 'A=1', '--env-vars', 'B=2', '-ufoo', '--', '--name', 'x']);
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.equal(r.command.name, 'exec');
  assert.deepEqual(r.args, { binary: '/bin/app' });
  assert.deepEqual(r.flags, { 'no-autorestart': true, name: 'api', args: '-port=8080', 'env-vars': ['A=1', 'B=2'], user: 'foo' });
  assert.deepEqual(r.rest, ['--name', 'x']);
  const b = parseArgv(['stop', '-f', 'web', '--json', '--no-color']);
  assert.ok(b.kind === 'run' && b.json && b.noColor && b.flags.force === true && b.args.target === 'web');
  const bundled = parseArgv(['logs', '-fn5']);
  assert.ok(bundled.kind === 'run' && bundled.flags.follow === true && bundled.flags.lines === 5);
  const defaults = parseArgv(['log', 'x']);
  assert.ok(defaults.kind === 'run' && defaults.flags.lines === 10);
  const variadic = parseArgv(['logs', 'a', 'b', 'c']);
  assert.ok(variadic.kind === 'run' && JSON.stringify(variadic.args.targets) === '["a","b","c"]');
});

test('help, version and aliases', () => {
  assert.deepEqual(parseArgv([]), { kind: 'help', json: false, noColor: false });
  assert.equal(parseArgv(['-h']).kind, 'help');
  assert.equal(parseArgv(['--version']).kind, 'version');
  assert.equal(parseArgv(['-v']).kind, 'version');
  const h = parseArgv(['stop', 'x', '--help']);
  assert.ok(h.kind === 'help' && h.command?.name === 'stop');
  const hh = parseArgv(['help', 'delete']);
  assert.ok(hh.kind === 'help' && hh.command?.name === 'del');
  const after = parseArgv(['exec', '/bin/x', '--', '--help']);
  assert.ok(after.kind === 'run' && after.rest[0] === '--help', '--help after -- is the program\'s');
  for (const c of COMMANDS) for (const a of c.aliases) assert.equal((parseArgv([a, '--help']) as any).command.name, c.name);
});

test('mistakes are one INVALID_ARGUMENT line each, with a suggestion when one is close', () => {
  invalid(['restrat'], 'unknown command "restrat"; did you mean "restart"? (pmon3 help lists the commands)');
  invalid(['exec', '/bin/x', '--nmae', 'a'], 'exec: unknown flag "--nmae"; did you mean "--name"? (pmon3 exec --help)');
  invalid(['exec', '/bin/x', 'a'], 'exec: unexpected "a" after "/bin/x": the program\'s arguments go after -- (pmon3 exec /bin/x -- a) or in --args');
  invalid(['exec', './app.sh', '-n', 'api'], 'exec: unexpected "api" after "./app.sh": the program\'s arguments go after -- (pmon3 exec ./app.sh -- api) or in --args (-n is --no-autorestart; the process name is --name)');
  invalid(['exec'], 'exec: missing BINARY (usage: pmon3 exec BINARY [flags] [-- ARGS...])');
  invalid(['exec', '/bin/x', '--name'], 'exec: --name needs a value (--name NAME)');
  invalid(['log', 'x', '--lines', '--json'], 'log: --lines needs a value (--lines N)');
  invalid(['log', 'x', '-n', '100001'], 'log: -n must be between 0 and 100000, not 100001');
  invalid(['ls', '--json=yes'], 'ls: --json takes no value');
  invalid(['ls', '-s', 'runing'], 'ls: -s takes running, starting, stopped, failed, backoff, restarting, queued, init, completed, scheduled, not "runing"; did you mean "running"?');
  invalid(['daemon', 'strat'], 'daemon: ACTION is start, status, stop, not "strat"; did you mean "start"?');
  invalid(['exec', '/bin/x', '--name', 'a', '--name', 'b'], 'exec: --name given twice');
});

test('suggest: transpositions, short words, prefixes, nothing far off', () => {
  assert.equal(editDistance('restrat', 'restart'), 1);
  assert.equal(suggest('restrat', ['restart', 'reset']), 'restart');
  assert.equal(suggest('lgo', ['log', 'logs', 'ls']), 'log');
  assert.equal(suggest('versio', ['version']), 'version');
  assert.equal(suggest('xyzzy', ['stop', 'start']), undefined);
  assert.equal(suggest('a', ['ls']), undefined);
});

/** A file system of the given files: path → [mode bits as 'x' or '-', first line]. */
function fakeFs(files: Record<string, ['x' | '-', string?]>, dirs: string[] = []): Fs {
  return {
    isExecutableFile: (p) => files[p]?.[0] === 'x',
    exists: (p) => p in files || dirs.includes(p),
    isRegularFile: (p) => p in files,
    firstLine: (p) => files[p]?.[1],
  };
}

test('interpreters: executable runs as it is; else #! line, else extension; --interpreter overrides; none runs it as it is', () => {
  const fs = fakeFs({
    '/usr/bin/node': ['x'],
    '/usr/bin/python3': ['x'],
    '/bin/sh': ['x'],
    '/usr/bin/bash': ['x'],
    '/srv/run.sh': ['x', '#!/bin/sh'],
    '/srv/app.js': ['-', 'console.log(1)'],
    '/srv/tool.txt': ['-', '#!/usr/bin/env python3 -u'],
    '/srv/job.sh': ['-', 'echo'],
    '/srv/plain': ['-', 'echo'],
    '/srv/odd.rb': ['-', ''],
  }, ['/srv/dir']);
  const PATH = '/usr/bin:/bin';
  assert.deepEqual(interpreterFor('/srv/run.sh', undefined, '/', PATH, fs), { file: '/srv/run.sh', pre: [] });
  assert.deepEqual(interpreterFor('/srv/app.js', undefined, '/', PATH, fs), { file: '/usr/bin/node', pre: ['/srv/app.js'] });
  assert.deepEqual(interpreterFor('/srv/tool.txt', undefined, '/', PATH, fs), { file: '/usr/bin/python3', pre: ['-u', '/srv/tool.txt'] });
  assert.deepEqual(interpreterFor('/srv/job.sh', undefined, '/', PATH, fs), { file: '/bin/sh', pre: ['/srv/job.sh'] });
  assert.deepEqual(interpreterFor('/srv/job.sh', 'bash -e', '/', PATH, fs), { file: '/usr/bin/bash', pre: ['-e', '/srv/job.sh'] });
  assert.deepEqual(interpreterFor('/srv/app.js', 'none', '/', PATH, fs), { file: '/srv/app.js', pre: [] });
  assert.deepEqual(interpreterFor('/srv/dir', undefined, '/', PATH, fs), { file: '/srv/dir', pre: [] }, 'a directory is the helper\'s to refuse');
  assert.deepEqual(interpreterFor('/srv/missing', undefined, '/', PATH, fs), { file: '/srv/missing', pre: [] });
  assert.throws(() => interpreterFor('/srv/plain', undefined, '/', PATH, fs), /not executable and has no #! line or known extension/);
  assert.throws(() => interpreterFor('/srv/odd.rb', undefined, '/', PATH, fs), /^Error: ruby: command not found \(to run \/srv\/odd\.rb; give --interpreter\)$|ruby: command not found/);
});

test('exec params: bare names from the caller\'s PATH, names without extensions, -e repeated', () => {
  const fs = fakeFs({ '/usr/bin/node': ['x'], '/here/server.js': ['-', ''], '/here/has space.sh': ['x'] });
  const p = execParams({ binary: 'node', extra: ['server.js'], envVars: ['A=1 B=2', 'B=3'], noAutorestart: false }, '/here', '/usr/bin', fs);
  assert.deepEqual([p.file, p.name, p.args, p.env], ['/usr/bin/node', 'node', ['server.js'], { A: '1', B: '3' }]);
  const s = execParams({ binary: 'server.js', extra: [], noAutorestart: true }, '/here', '/usr/bin', fs);
  assert.deepEqual([s.file, s.name, s.args, s.auto_restart], ['/usr/bin/node', 'server', ['/here/server.js'], false]);
  assert.throws(() => execParams({ binary: 'nope', extra: [], noAutorestart: false }, '/here', '/usr/bin', fs), /^Error: nope: command not found$|nope: command not found/);
  assert.throws(() => execParams({ binary: 'has space.sh', extra: [], noAutorestart: false }, '/here', '/usr/bin', fs), /\(use --name\)$/);
  assert.deepEqual(['app.sh', 'a.b.c', '.hidden', 'plain', 'x.'].map(defaultName), ['app', 'a.b', '.hidden', 'plain', 'x']);
});

const row = (id: number, name: string, status: string, extra: Partial<ProcessSummary> = {}): ProcessSummary => ({
  id, name, status: status as ProcessSummary['status'], pid: null, restarts: 0, user: 'root', uid: 0, cpu: null, memory: null, uptime_ms: null,
  last_exit_code: null, last_signal: null, saved: true, ...extra,
});

test('ls filters and sorts; unknown values sort last', () => {
  const all = [row(1, 'web-1', 'running', { memory: 10 }), row(2, 'api', 'stopped'), row(3, 'web-2', 'running', { memory: 30, user: 'bob', uid: 1001 })];
  const names = (o: Partial<Parameters<typeof filterAndSort>[1]>): string[] =>
    filterAndSort(all, { statuses: [], sort: 'id', reverse: false, ...o }).map((p) => p.name);
  assert.deepEqual(names({ pattern: 'web-*' }), ['web-1', 'web-2']);
  assert.deepEqual(names({ pattern: 'web-?' }), ['web-1', 'web-2']);
  assert.deepEqual(names({ pattern: 'we' }), []);
  assert.deepEqual(names({ statuses: ['stopped'] }), ['api']);
  assert.deepEqual(names({ user: 'bob' }), ['web-2']);
  assert.deepEqual(names({ user: '1001' }), ['web-2']);
  assert.deepEqual(names({ sort: 'mem' }), ['web-1', 'web-2', 'api']);
  assert.deepEqual(names({ sort: 'mem', reverse: true }), ['web-2', 'web-1', 'api']);
  assert.deepEqual(names({ sort: 'name' }), ['api', 'web-1', 'web-2']);
  assert.equal(globToRegExp('a.b*').test('aXb'), false, '. is literal');
});

test('the log prefixer: whole lines, names padded, partial lines kept until complete', () => {
  let out = '';
  const p = new Prefixer((t) => (out += t), { color: false }, true);
  const a = { id: 1, name: 'web' };
  const b = { id: 2, name: 'worker' };
  p.push('one\ntw', a);
  p.push('x\n', b);
  p.push('o\n', a);
  p.flush([a, b]);
  assert.equal(out, 'web    | one\nworker | x\nweb    | two\n');
  out = '';
  const s = new Prefixer((t) => (out += t), { color: false }, false);
  s.push('partial', { id: 3, name: 'a\x1bb' });
  assert.equal(out, '');
  s.flush([{ id: 3, name: 'a\x1bb' }]);
  assert.equal(out, 'a\\x1bb | partial\n', 'control characters in names are escaped');
});

test('colour and width decisions', () => {
  assert.equal(useColor({}, true, false), true);
  assert.equal(useColor({}, false, false), false);
  assert.equal(useColor({}, true, true), false);
  assert.equal(useColor({ NO_COLOR: '1' }, true, false), false);
  assert.equal(useColor({ NO_COLOR: '' }, true, false), true);
  assert.equal(useColor({ TERM: 'dumb' }, true, false), false);
  assert.equal(useColor({ FORCE_COLOR: '1' }, false, false), true);
  assert.equal(useColor({ FORCE_COLOR: '0' }, true, false), false);
  assert.equal(outputWidth({ COLUMNS: '72' }, undefined), 72);
  assert.equal(outputWidth({}, 100), 100);
  assert.equal(outputWidth({ COLUMNS: 'wide' }, undefined), undefined);
  assert.deepEqual(['a', 'two words', "it's", '', '-x=1'].map(shellQuote), ['a', "'two words'", "'it'\\''s'", "''", '-x=1']);
});
