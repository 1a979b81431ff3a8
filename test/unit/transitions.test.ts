/** The transition table, pair by pair, and setStatus: checked first, stored, then told. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { transition, TRANSITIONS, type SupervisorEvent } from '../../internal/process/status';
import { STATUSES, type Status } from '../../internal/protocol/methods';
import { Units, type StatusChange } from '../../internal/supervisor/units';
import { FakeStore } from '../helpers/fakes';
import { newRow, recordingLogger } from '../helpers/store';

/** Every event (a key missing here, or one too many, is a compile error). */
const EVENT_SET = {
  enqueue: true,
  start: true,
  spawned: true,
  spawned_wait: true,
  up: true,
  spawn_failed: true,
  exit_completed: true,
  exit_scheduled: true,
  arm: true,
  exit_restart: true,
  exit_backoff: true,
  exit_failed: true,
  exit_clean: true,
  restart: true,
  stop: true,
  adopt: true,
  lost: true,
  give_up: true,
} satisfies Record<SupervisorEvent, true>;
const EVENTS = Object.keys(EVENT_SET) as SupervisorEvent[];

/** The table, written out pair by pair: what each legal (status, event) gives. Everything else is illegal. */
const LIVE = {
  exit_restart: 'restarting',
  exit_backoff: 'backoff',
  exit_failed: 'failed',
  exit_clean: 'stopped',
  exit_completed: 'completed',
  exit_scheduled: 'scheduled',
  restart: 'restarting',
  stop: 'stopped',
  adopt: 'running',
  lost: 'restarting',
} as const;
const AT_REST = { enqueue: 'queued', start: 'init', restart: 'restarting', stop: 'stopped', adopt: 'running', arm: 'scheduled' } as const;
const LEGAL: Record<Status, Partial<Record<SupervisorEvent, Status>>> = {
  queued: { start: 'init', stop: 'stopped', adopt: 'running', arm: 'scheduled' },
  init: { spawned: 'running', spawned_wait: 'starting', spawn_failed: 'failed', stop: 'stopped', adopt: 'running', lost: 'queued' },
  starting: { ...LIVE, up: 'running' },
  running: { ...LIVE },
  restarting: { start: 'init', stop: 'stopped', restart: 'restarting', spawn_failed: 'failed', adopt: 'running', give_up: 'failed', arm: 'scheduled' },
  backoff: { start: 'init', restart: 'restarting', stop: 'stopped', spawn_failed: 'failed', adopt: 'running', give_up: 'failed', arm: 'scheduled' },
  stopped: { ...AT_REST },
  failed: { ...AT_REST },
  completed: { ...AT_REST },
  scheduled: { ...AT_REST },
};

test('every (status, event) pair: the legal ones give their status, the others are FAILED_PRECONDITION', () => {
  assert.equal(STATUSES.length, 10);
  let legal = 0;
  let illegal = 0;
  for (const s of STATUSES) {
    for (const e of EVENTS) {
      const want = LEGAL[s][e];
      if (want) {
        assert.equal(transition(s, e, 'web'), want, `${s} + ${e}`);
        legal++;
      } else {
        assert.throws(
          () => transition(s, e, 'web'),
          (err: any) => err.code === 'FAILED_PRECONDITION' && err.message.includes('web') && err.message.includes(s),
          `${s} + ${e} should be illegal`,
        );
        illegal++;
      }
    }
  }
  assert.equal(legal + illegal, STATUSES.length * EVENTS.length);
  // The table holds nothing the list above does not.
  for (const s of STATUSES) assert.deepEqual(TRANSITIONS[s], LEGAL[s], s);
});

/** Units over a FakeStore holding one row of the given status. */
async function unitsWith(status: Status) {
  const store = new FakeStore();
  const logger = recordingLogger();
  const units = new Units(store, logger);
  const row = await store.insert(newRow('web', { status }));
  store.writes.length = 0;
  return { store, units, row, logger };
}

test('setStatus: an illegal event writes nothing and tells nobody', async () => {
  for (const s of STATUSES) {
    for (const e of EVENTS.filter((x) => !LEGAL[s][x])) {
      const { store, units, row } = await unitsWith(s);
      const told: StatusChange[] = [];
      units.subscribe((c) => told.push(c));
      await assert.rejects(units.setStatus(row, e, { desired: 'stopped', reason: 'x' }), (err: any) => err.code === 'FAILED_PRECONDITION');
      assert.equal(store.writes.length, 0, `${s} + ${e} wrote`);
      assert.deepEqual(told, []);
      assert.deepEqual(await store.get(row.id), row);
    }
  }
});

test('setStatus: a legal event is stored (status with the patch) before subscribers are told', async () => {
  for (const s of STATUSES) {
    for (const e of EVENTS.filter((x) => LEGAL[s][x])) {
      const { store, units, row } = await unitsWith(s);
      const seen: { change: StatusChange; stored: Status | undefined; reason: string | null | undefined }[] = [];
      units.subscribe((change) => {
        // Synchronously, in the emit: the store already holds the new row.
        const r = store.rows.get(change.id);
        seen.push({ change, stored: r?.status, reason: r?.reason });
      });
      const out = await units.setStatus(row, e, { reason: `${e} it` });
      const to = LEGAL[s][e]!;
      assert.equal(out.status, to);
      assert.equal(out.reason, `${e} it`);
      assert.equal(store.writes.length, 1);
      assert.deepEqual(store.writes[0]!.patch, { reason: `${e} it`, status: to });
      assert.deepEqual(seen, [{ change: { id: row.id, name: 'web', from: s, to, event: e }, stored: to, reason: `${e} it` }]);
    }
  }
});

test('setStatus: a failing subscriber neither undoes the change nor silences the others; unsubscribe stops the telling', async () => {
  const { store, units, row, logger } = await unitsWith('stopped');
  const told: string[] = [];
  units.subscribe(() => {
    throw new Error('boom');
  });
  const off = units.subscribe((c) => told.push(`${c.from}->${c.to}`));
  const cur = await units.setStatus(row, 'start');
  assert.equal((await store.get(row.id))!.status, 'init');
  assert.deepEqual(told, ['stopped->init']);
  assert.ok(logger.at('error').some((m) => m.includes('boom')));
  off();
  await units.setStatus(cur, 'spawned');
  assert.deepEqual(told, ['stopped->init']);
});

test('update() writes no status: setStatus is the only way', async () => {
  const { store, units, row } = await unitsWith('running');
  assert.throws(() => units.update(row, { status: 'stopped' } as never), (err: any) => err.code === 'INTERNAL');
  assert.equal(store.writes.length, 0);
});
