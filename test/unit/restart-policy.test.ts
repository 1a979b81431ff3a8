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

/** Crash after crash of runs uptimeMs long, each decision fed the failures the last one returned. */
function chain(p: Parameters<typeof decideRestart>[1], n: number, uptimeMs = 50): Array<[number, boolean, number]> {
  let failures = 0;
  const out: Array<[number, boolean, number]> = [];
  for (let i = 0; i < n; i++) {
    const d = decideRestart({ ...crash, uptimeMs, consecutiveFailures: failures }, p);
    assert.equal(d.action, 'restart');
    if (d.action !== 'restart') break;
    out.push([d.delayMs, d.flapping ?? false, d.failures]);
    failures = d.failures;
  }
  return out;
}

test('threshold_decrement shorter than the countdown: each backoff lasts one decrement, then the next quick crash backs off again', () => {
  const p = { ...policy, flap: { threshold: 3, delayMs: 5000, decrementMs: 2000 } };
  assert.deepEqual(chain(p, 6), [
    [0, false, 1],
    [100, false, 2],
    [200, false, 3],
    // past the threshold: one backoff (one backoff event), a restart forgiven while it lasts
    [2000, true, 3],
    [2000, true, 3],
    [2000, true, 3],
  ]);
});

test('threshold_decrement 0 or past the countdown: the countdown runs out and forgives every restart', () => {
  for (const decrementMs of [0, 5000, 9000]) {
    const p = { ...policy, flap: { threshold: 2, delayMs: 5000, decrementMs } };
    assert.deepEqual(chain(p, 6), [
      [0, false, 1],
      [100, false, 2],
      [5000, true, 0],
      [0, false, 1],
      [100, false, 2],
      [5000, true, 0],
    ], `decrement ${decrementMs}`);
  }
});

test('threshold_decrement: a run after a backoff forgives one restart per decrement it lasted', () => {
  const p = { ...policy, flap: { threshold: 3, delayMs: 5000, decrementMs: 2000 } };
  // At the threshold (it has flapped): a 4.5 s run (unstable: < 10 s) forgives 2 restarts.
  assert.deepEqual(decideRestart({ ...crash, uptimeMs: 4500, consecutiveFailures: 3 }, p), { action: 'restart', delayMs: 100, failures: 2 });
  // A short one forgives nothing: backoff again.
  assert.deepEqual(decideRestart({ ...crash, uptimeMs: 1999, consecutiveFailures: 3 }, p), { action: 'restart', delayMs: 2000, failures: 3, flapping: true });
  // Before it ever flapped, time forgives nothing (the Go countdown is not running yet).
  assert.deepEqual(decideRestart({ ...crash, uptimeMs: 4500, consecutiveFailures: 2 }, p), { action: 'restart', delayMs: 200, failures: 3 });
  // A stable run still resets everything.
  assert.deepEqual(decideRestart({ ...crash, uptimeMs: 10_000, consecutiveFailures: 3 }, p), { action: 'restart', delayMs: 0, failures: 1 });
  // Without auto-restart nothing changes.
  assert.equal(decideRestart({ ...crash, autoRestart: false, consecutiveFailures: 3 }, p).action, 'give_up');
});

test('without decrementMs flap detection is as before (every further restart waits the countdown)', () => {
  const p = { ...policy, flap: { threshold: 2, delayMs: 5000 } };
  assert.deepEqual(chain(p, 4), [
    [0, false, 1],
    [100, false, 2],
    [5000, true, 3],
    [5000, true, 4],
  ]);
});

test("an app's own policy: startretries gives up after that many retries; restart_delay is the least every restart waits", () => {
  const mine = { ...policy, maxFailures: 3 };
  let failures = 0;
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const d = decideRestart({ ...crash, consecutiveFailures: failures }, mine);
    seen.push(d.action === 'restart' ? `restart ${d.delayMs}` : `give_up ${d.status}`);
    failures = d.failures;
    if (d.action === 'give_up') break;
  }
  assert.deepEqual(seen, ['restart 0', 'restart 100', 'give_up failed']);
  // A clean exit under always is not a failure to give up on.
  assert.equal(decideRestart({ ...crash, exitCode: 0, consecutiveFailures: 5 }, mine).action, 'restart');
  const delayed = { ...policy, minDelayMs: 2000 };
  assert.deepEqual(decideRestart(crash, delayed), { action: 'restart', delayMs: 2000, failures: 1 });
  assert.equal((decideRestart({ ...crash, consecutiveFailures: 3 }, delayed) as any).delayMs, 2000);
});
