import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSockets, formatListen, listenEnv, parseListen, privilegedPorts } from '../../internal/apps/sockets';
import { specHash } from '../../internal/apps/model';
import { encodeSpec } from '../../internal/process/spawner';

test('parseListen: the forms taken, one way written back', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { family: 4, address: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('tcp://0.0.0.0:80'), { family: 4, address: '0.0.0.0', port: 80 });
  assert.deepEqual(parseListen(':9000'), { family: 4, address: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseListen('9000'), { family: 4, address: '0.0.0.0', port: 9000 });
  assert.deepEqual(parseListen('localhost:1'), { family: 4, address: '127.0.0.1', port: 1 });
  assert.deepEqual(parseListen('[::]:443'), { family: 6, address: '::', port: 443 });
  assert.equal(formatListen(parseListen('[::1]:8')), '[::1]:8');
});

test('parseListen: what is refused, each in one line', () => {
  assert.deepEqual(parseListen('/run/x.sock'), { family: 'unix', path: '/run/x.sock' });
  assert.deepEqual(parseListen('unix:/x'), { family: 'unix', path: '/x' });
  for (const bad of ['unix:x', '/run/../x.sock', '/run//x', '/run/x/', `/${'x'.repeat(107)}`, 'unix:', '127.0.0.1:0', '127.0.0.1:65536', '1.2.3.4', 'host:80', '256.1.1.1:80', '[1.2.3.4]:80', '[::1:80', '127.0.0.1:8a', '', ' ', '1.2.3.4:80\n', `${'9'.repeat(10_000)}`, '$(id):80', "'1.2.3.4':80"]) {
    assert.throws(() => parseListen(bad), (e: Error) => /^socket "/.test(e.message) && !e.message.includes('\n'), JSON.stringify(bad.slice(0, 30)));
  }
});

test('checkSockets: names default to the app, duplicates (however written) and too many refused; ports below 1024 found', () => {
  assert.deepEqual(checkSockets('web', [{ listen: ':80' }, { listen: '[::1]:81', name: 'v6', backlog: 10 }]), [
    { listen: '0.0.0.0:80', name: 'web' },
    { listen: '[::1]:81', name: 'v6', backlog: 10 },
  ]);
  assert.throws(() => checkSockets('w', [{ listen: ':80' }, { listen: '0.0.0.0:80' }]), /listed twice/);
  assert.throws(() => checkSockets('w', Array.from({ length: 17 }, (_, i) => ({ listen: `:${1000 + i}` }))), /at most 16/);
  assert.deepEqual(privilegedPorts([{ listen: ':80' }, { listen: ':8080' }, { listen: '[::]:1023' }]), [80, 1023]);
  assert.deepEqual(listenEnv([]), {});
  assert.deepEqual(listenEnv([{ listen: ':1', name: 'a' }, { listen: ':2', name: 'b' }]), { LISTEN_FDS: '2', LISTEN_FDNAMES: 'a:b' });
});

test('the spec hash: sockets count (a change restarts), none leaves the hash of before', () => {
  const e = { file: '/bin/x', args: [], env: {}, cwd: '/', uid: 1, gid: 1 };
  assert.equal(specHash(e), specHash({ ...e, sockets: [] }));
  assert.notEqual(specHash(e), specHash({ ...e, sockets: [{ listen: '0.0.0.0:80' }] }));
  assert.notEqual(specHash({ ...e, sockets: [{ listen: '0.0.0.0:80' }] }), specHash({ ...e, sockets: [{ listen: '0.0.0.0:81' }] }));
});

test('encodeSpec: version 4 with the keys only when there are sockets', () => {
  const base = { file: '/bin/x', args: [], env: {}, cwd: '/', uid: 1, gid: 1, groups: [], log: null, cgroup: null };
  assert.ok(encodeSpec(base).toString().startsWith('pmon3-exec/3\0'));
  const v4 = encodeSpec({ ...base, sockets: ['a1.0', 'a1.1'] }).toString();
  assert.ok(v4.startsWith('pmon3-exec/4\0'));
  assert.ok(v4.endsWith('\x002\0a1.0\0a1.1\x000\0'), JSON.stringify(v4.slice(-30)));
});

test('rlimits: parsed, and anyone but an admin kept within pmond\'s own hard limits (unknown ones refused)', async () => {
  const { checkWithin, hardLimits, parseRlimits, rlimitWords } = await import('../../internal/apps/rlimits');
  const lim = parseRlimits({ nofile: [1024, 4096], core: 'unlimited', nproc: 100 });
  assert.deepEqual(lim, { nofile: { soft: 1024, hard: 4096 }, core: { soft: -1, hard: -1 }, nproc: { soft: 100, hard: 100 } });
  assert.deepEqual(rlimitWords(lim), ['4', '-1', '-1', '7', '1024', '4096', '6', '100', '100']);
  const own = hardLimits('Limit  Soft Limit  Hard Limit  Units\nMax core file size        0                    unlimited            bytes\nMax processes             96362                96362                processes\nMax open files            20000                20000                files\n');
  assert.deepEqual(own, { core: -1, nproc: 96362, nofile: 20000 });
  checkWithin(lim, own);
  assert.throws(() => checkWithin(parseRlimits({ nofile: 30000 }), own), /nofile 30000 is above pmond's own hard limit \(20000\): only an admin/);
  assert.throws(() => checkWithin(parseRlimits({ nproc: 'unlimited' }), own), /nproc unlimited is above/);
  assert.throws(() => checkWithin(parseRlimits({ memlock: 1 }), own), /cannot read its own limit/);
});
