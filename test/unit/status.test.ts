import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATUSES } from '../../internal/protocol/methods';
import { isActive, transition, TRANSITIONS } from '../../internal/process/status';

test('every status has a row in the transition table, and every target is a status', () => {
  for (const s of STATUSES) {
    assert.ok(TRANSITIONS[s], `no row for ${s}`);
    for (const to of Object.values(TRANSITIONS[s])) assert.ok((STATUSES as readonly string[]).includes(to!), `${s} → ${to}`);
  }
});

test('the normal life of a process', () => {
  let s = transition('queued', 'start');
  assert.equal(s, 'init');
  s = transition(s, 'spawned');
  assert.equal(s, 'running');
  assert.equal(transition(s, 'exit_restart'), 'restarting');
  assert.equal(transition('restarting', 'start'), 'init');
  assert.equal(transition(s, 'exit_backoff'), 'backoff');
  assert.equal(transition('backoff', 'start'), 'init');
  assert.equal(transition(s, 'exit_failed'), 'failed');
  assert.equal(transition(s, 'exit_clean'), 'stopped');
  assert.equal(transition(s, 'stop'), 'stopped');
  assert.equal(transition('stopped', 'start'), 'init');
  assert.equal(transition('failed', 'start'), 'init');
  assert.equal(transition('init', 'spawn_failed'), 'failed');
});

test('illegal transitions are FAILED_PRECONDITION, not silent overwrites', () => {
  assert.throws(() => transition('stopped', 'spawned', 'web'), (e: any) => e.code === 'FAILED_PRECONDITION' && /web/.test(e.message));
  assert.throws(() => transition('running', 'start'), (e: any) => e.code === 'FAILED_PRECONDITION');
  assert.throws(() => transition('failed', 'exit_restart'), (e: any) => e.code === 'FAILED_PRECONDITION');
  assert.throws(() => transition('init', 'restart'), (e: any) => e.code === 'FAILED_PRECONDITION');
});

test('active statuses', () => {
  assert.deepEqual(
    STATUSES.filter((s) => isActive(s)),
    ['queued', 'init', 'starting', 'running', 'backoff', 'restarting'],
  );
});
