/**
 * 20 clients at once, 50 mixed commands each: every reply well-formed, and
 * the final state is exactly what each client's own sequence implies.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '../../internal/client/client';
import { ERROR_CODES, PmonError } from '../../internal/protocol';
import { TestDaemon } from '../helpers/daemon';
import { rng } from '../helpers/rng';
import { liveInstances, zombieChildren } from '../helpers/os';
import { waitFor } from '../helpers/wait';

const CLIENTS = 20;
const COMMANDS = 50;

let d: TestDaemon;
before(async () => {
  d = await TestDaemon.start({ config: { stop_timeout: 2 } });
});
after(async () => {
  await d?.stop();
});

test(`${CLIENTS} concurrent clients × ${COMMANDS} mixed commands`, async () => {
  const stats = { ok: 0, errors: 0, byCode: {} as Record<string, number> };
  const expected = new Map<string, 'running' | 'stopped' | 'deleted'>();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, k) => {
      const rand = rng(1000 + k);
      const c = await Client.connect(d.socket);
      try {
        const mine = [`c${k}-a`, `c${k}-b`];
        for (let i = 0; i < COMMANDS; i++) {
          const name = mine[Math.floor(rand() * mine.length)]!;
          const op = Math.floor(rand() * 8);
          try {
            switch (op) {
              case 0: {
                const p = await c.call('exec', { file: '/bin/sleep', name, args: ['1000'], env: { K: String(k) }, cwd: '/', auto_restart: true });
                assert.equal(p.status, 'running');
                d.seenPids.add(p.pid!);
                expected.set(name, 'running');
                break;
              }
              case 1:
                assert.equal((await c.call('stop', { target: name, force: rand() < 0.5 })).status, 'stopped');
                expected.set(name, 'stopped');
                break;
              case 2: {
                const p = await c.call('restart', { target: name, count: true });
                assert.equal(p.status, 'running');
                d.seenPids.add(p.pid!);
                expected.set(name, 'running');
                break;
              }
              case 3:
                await c.call('delete', { target: name, force: true });
                expected.set(name, 'deleted');
                break;
              case 4:
                assert.ok(Array.isArray((await c.call('list', {})).processes));
                break;
              case 5:
                assert.equal((await c.call('describe', { target: name })).name, name);
                break;
              case 6:
                await c.call('reset', { target: name });
                break;
              default:
                assert.equal(typeof (await c.call('log', { target: name, lines: 5, follow: false })).text, 'string');
            }
            stats.ok++;
          } catch (e) {
            // Errors are part of the mix (a name not created yet, a log not written yet),
            // but each must be a well-formed error from the closed set.
            assert.ok(e instanceof PmonError, `well-formed error, got ${String(e)}`);
            assert.ok(ERROR_CODES.includes(e.code));
            assert.ok(['NOT_FOUND', 'ALREADY_EXISTS'].includes(e.code), `${name}: unexpected ${e.code}: ${e.message}`);
            stats.errors++;
            stats.byCode[e.code] = (stats.byCode[e.code] ?? 0) + 1;
            if (e.code === 'ALREADY_EXISTS') assert.notEqual(expected.get(name), 'deleted');
          }
        }
      } finally {
        c.close();
      }
    }),
  );
  console.log(`# concurrency figures: ${JSON.stringify(stats)}`);
  assert.equal(stats.ok + stats.errors, CLIENTS * COMMANDS, 'every request got a reply');
  const rows = await d.ls();
  for (const [name, want] of expected) {
    const r = rows.find((x: any) => x.name === name);
    if (want === 'deleted') {
      assert.equal(r, undefined, `${name} deleted`);
      continue;
    }
    assert.equal(r?.status, want, `${name} is ${want}`);
    const live = liveInstances(r.id, d.logs);
    assert.deepEqual(live, want === 'running' ? [r.pid] : [], `${name}: OS agrees`);
  }
  assert.equal(rows.length, [...expected.values()].filter((v) => v !== 'deleted').length, 'no stray rows');
  await waitFor('no zombies under pmond', () => zombieChildren(d.pid).length === 0);
});
