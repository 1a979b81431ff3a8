/** ready:, health: and Firestarter's ack as an apps file writes them: parsed, checked, refused in one line (internal/apps/ready.ts, task.ts, file.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseApps } from '../../internal/apps/file';
import { durationMs, parseHttpTarget, parseReady, sharedSocketProblem } from '../../internal/apps/ready';
import { checkTask } from '../../internal/apps/task';

test('parseReady: every form, and what it refuses', () => {
  assert.deepEqual(parseReady('none'), { kind: 'none' });
  assert.deepEqual(parseReady('notify'), { kind: 'notify' });
  assert.deepEqual(parseReady('tcp'), { kind: 'tcp' });
  assert.deepEqual(parseReady('tcp:8080'), { kind: 'tcp', port: 8080 });
  assert.deepEqual(parseReady('delay:2s'), { kind: 'delay', ms: 2000 });
  assert.deepEqual(parseReady('delay:1500ms'), { kind: 'delay', ms: 1500 });
  assert.deepEqual(parseReady('http:/ready'), { kind: 'http', path: '/ready' });
  assert.deepEqual(parseReady('http://127.0.0.1:81/x?y=1'), { kind: 'http', path: '/x?y=1', host: '127.0.0.1', port: 81 });
  assert.deepEqual(parseReady('http://localhost:81'), { kind: 'http', path: '/', host: '127.0.0.1', port: 81 });
  assert.deepEqual(parseReady('http://[::1]:81/'), { kind: 'http', path: '/', host: '::1', port: 81 });
  for (const [bad, re] of [
    ['tcp:0', /1 to 65535/],
    ['tcp:65536', /1 to 65535/],
    ['delay:0', /at least 1ms/],
    ['delay:25h', /at most 24h/],
    ['delay:-1s', /not a duration/],
    ['http://example.com:80/', /this machine only/],
    ['http://169.254.169.254/latest', /this machine only/],
    ['https://127.0.0.1:1/', /is not notify/],
    ['http:/a b', /printable/],
    ['http:/$(id)\n', /printable/],
    ['http:/' + 'x'.repeat(1100), /printable/],
    ['', /is not notify/],
    ['READY=1', /is not notify/],
  ] as const) {
    assert.throws(() => parseReady(bad), (e: Error) => re.test(e.message) && !e.message.includes('\n'), bad.slice(0, 30));
  }
  assert.equal(durationMs('90'), 90_000);
  assert.throws(() => parseHttpTarget('ftp://127.0.0.1/'), /not \/PATH/);
});

test('a check on a shared socket cannot tell instances apart: refused, with what to use instead', () => {
  const sockets = [{ listen: '127.0.0.1:8080' }];
  assert.match(sharedSocketProblem('ready: tcp', {}, sockets) ?? '', /use ready: notify or delay:/);
  assert.match(sharedSocketProblem('health', { port: 8080 }, sockets) ?? '', /port 8080 is shared/);
  assert.equal(sharedSocketProblem('health', { port: 9090 }, sockets), undefined, 'an admin port of its own is fine');
  assert.equal(sharedSocketProblem('health', {}, undefined), undefined);
  assert.equal(checkTask('w', { ready: 'notify' }, undefined, sockets), undefined);
  assert.equal(checkTask('w', { ready: 'tcp' }, undefined, sockets)?.key, 'ready');
  assert.equal(checkTask('w', { type: 'cron', cron: '* * * * *', ready: 'notify' })?.key, 'ready');
  assert.equal(checkTask('w', { ready_timeout_ms: 1000 })?.key, 'ready_timeout_ms');
  assert.equal(checkTask('w', { health: { http: '/h', interval_ms: 1000, timeout_ms: 2000 } })?.key, 'health');
});

test("apps file: ready keys in ms; Firestarter's ack: manual is notify, timer a delay, none at once", () => {
  const one = (extra: string) => parseApps(`apps:\n  - name: w\n    exec: /bin/true\n    ${extra}\n`, '/a.yaml', 'yaml')[0]!.task;
  assert.deepEqual(one('ready: notify\n    ready_timeout: 5s\n    watchdog: 10s'), { ready: 'notify', ready_timeout_ms: 5000, watchdog_ms: 10_000 });
  assert.deepEqual(one('ack: manual\n    ack_timeout: 30s'), { ready: 'notify', ready_timeout_ms: 30_000 });
  assert.deepEqual(one('ack: timer\n    ack_timeout: 2s'), { ready: 'delay:2000ms' });
  assert.deepEqual(one('ack: timer'), { ready: 'delay:5000ms' });
  assert.deepEqual(one('ack: none'), { ready: 'none' });
  assert.deepEqual(one('health: {http: /h, interval: 5s, timeout: 1s, failures: 2}\n    live_check_timeout: 10s\n    max_surge: 2'), {
    health: { http: '/h', interval_ms: 5000, timeout_ms: 1000, failures: 2 },
    live_check_ms: 10_000,
    max_surge: 2,
  });
  const refused = (extra: string, re: RegExp) =>
    assert.throws(() => one(extra), (e: any) => e.code === 'INVALID_ARGUMENT' && re.test(e.message) && !e.message.includes('\n'), extra);
  refused('ack: none\n    ack_timeout: 2s', /ack: none waits for nothing/);
  refused('ack_timeout: 2s', /ack_timeout goes with ack/);
  refused('ack: manual\n    ready_timeout: 2s', /the time is ack_timeout/);
  refused('ack: sometimes', /ack/);
  refused('ready: "http://10.1.1.1:80/"', /^\/a\.yaml:\d+: .*this machine only/);
});
