/**
 * The event bus (internal/server/events.ts) pushed past each of its bounds: one user's streams
 * (MAX_PER_UID), everyone's but admins' (MAX_SUBSCRIBERS - ADMIN_RESERVED), all (MAX_SUBSCRIBERS);
 * and delivery only to who may see the process, a throwing subscriber hurting nobody else.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ADMIN_RESERVED, EventBus, MAX_PER_UID, MAX_SUBSCRIBERS, type StateEvent } from '../../internal/server/events';

const alice = { uid: 1001, admin: false };
const bob = { uid: 1002, admin: false };
const root = { uid: 0, admin: true };

describe('EventBus bounds', () => {
  test('one user gets MAX_PER_UID streams, the next is refused; another user is not affected; one ended frees one', () => {
    const bus = new EventBus();
    const mine = Array.from({ length: MAX_PER_UID }, () => bus.subscribe(alice, () => {}));
    assert.ok(mine.every((s) => s !== null));
    assert.equal(bus.subscribe(alice, () => {}), null, `the ${MAX_PER_UID + 1}th of one uid`);
    assert.notEqual(bus.subscribe(bob, () => {}), null, 'bob still gets one');
    mine[0]!();
    assert.notEqual(bus.subscribe(alice, () => {}), null, 'after one ended');
  });

  test('users together stop ADMIN_RESERVED short of the total: root and admin_group still get theirs, up to MAX_SUBSCRIBERS', () => {
    const bus = new EventBus();
    let uid = 2000;
    let made = 0;
    // Many users, each under its own cap, until the users' share is full.
    for (;;) {
      const who = { uid: uid++, admin: false };
      let got = 0;
      while (got < MAX_PER_UID && bus.subscribe(who, () => {})) got++;
      made += got;
      if (got < MAX_PER_UID) break;
    }
    assert.equal(made, MAX_SUBSCRIBERS - ADMIN_RESERVED);
    assert.equal(bus.subscribe({ uid: uid++, admin: false }, () => {}), null, 'a fresh user: refused');
    let admins = 0;
    while (bus.subscribe(root, () => {})) admins++;
    assert.equal(admins, ADMIN_RESERVED, 'the reserve is the admins');
    assert.equal(bus.size, MAX_SUBSCRIBERS);
    assert.equal(bus.subscribe(root, () => {}), null, 'the total holds for admins too');
  });

  test("an event reaches its owner and admins only; a subscriber that throws does not stop the others'", () => {
    const bus = new EventBus();
    const got: Record<string, StateEvent[]> = { alice: [], bob: [], root: [] };
    bus.subscribe(alice, () => {
      throw new Error('a broken subscriber');
    });
    bus.subscribe(alice, (e) => got.alice!.push(e));
    bus.subscribe(bob, (e) => got.bob!.push(e));
    bus.subscribe(root, (e) => got.root!.push(e));
    bus.publishStatus({ id: 1, name: 'web', from: 'running', to: 'stopped', uid: alice.uid, user: 'alice' });
    bus.publish('restart', { id: 2, name: 'db', uid: bob.uid });
    assert.deepEqual(got.alice!.map((e) => e.process.name), ['web']);
    assert.deepEqual(got.bob!.map((e) => e.process.name), ['db']);
    assert.deepEqual(got.root!.map((e) => e.process.name), ['web', 'db']);
  });
});
