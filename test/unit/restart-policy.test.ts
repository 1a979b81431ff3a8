import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideRestart, isFailure } from '../../internal/process/restart-policy';

const policy = { initialDelayMs: 100, maxDelayMs: 1000, stableAfterMs: 10_000 };
const crash = { autoRestart: true, exitCode: 1, signal: null, uptimeMs: 50, consecutiveFailures: 0 };

test('first crash restarts at once, then the delay doubles up to the cap', () => {
  let failures = 0;
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const d = decideRestart({ ...crash, consecutiveFailures: failures }, policy);
    assert.equal(d.action, 'restart');
    if (d.action !== 'restart') return;
    delays.push(d.delayMs);
    failures = d.failures;
  }
  assert.deepEqual(delays, [0, 100, 200, 400, 800, 1000, 1000, 1000]);
});

test('a stable run resets the backoff', () => {
  const d = decideRestart({ ...crash, uptimeMs: 10_000, consecutiveFailures: 7 }, policy);
  assert.deepEqual(d, { action: 'restart', delayMs: 0, failures: 1 });
});

test('without auto-restart: failed on error or signal, stopped on exit 0', () => {
  assert.deepEqual(decideRestart({ ...crash, autoRestart: false }, policy), { action: 'give_up', status: 'failed', failures: 1 });
  assert.equal((decideRestart({ ...crash, autoRestart: false, exitCode: null, signal: 'SIGKILL' }, policy) as any).status, 'failed');
  assert.equal((decideRestart({ ...crash, autoRestart: false, exitCode: 0 }, policy) as any).status, 'stopped');
});

test('an unknown exit (adopted process) counts as a failure', () => {
  assert.equal(isFailure({ exitCode: null, signal: null }), true);
  assert.equal(isFailure({ exitCode: 0, signal: null }), false);
});

test('huge failure counts do not overflow the delay', () => {
  const d = decideRestart({ ...crash, consecutiveFailures: 1e6 }, policy);
  assert.deepEqual(d, { action: 'restart', delayMs: 1000, failures: 1e6 + 1 });
});

test('flap detection: past the threshold, at least the flap delay before each restart', () => {
  const flap = { ...policy, flap: { threshold: 3, delayMs: 5000 } };
  const ds = [0, 1, 2, 3, 4].map((n) => decideRestart({ ...crash, consecutiveFailures: n }, flap));
  assert.deepEqual(
    ds.map((d) => (d.action === 'restart' ? [d.delayMs, d.flapping ?? false] : d.action)),
    [[0, false], [100, false], [200, false], [5000, true], [5000, true]],
  );
  // a stable run ends the flapping
  assert.deepEqual(decideRestart({ ...crash, uptimeMs: 10_000, consecutiveFailures: 9 }, flap), { action: 'restart', delayMs: 0, failures: 1 });
});
