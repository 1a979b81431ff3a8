/** Selectors: ids, names, name:N, user/name, @group, all — parsed one way, resolved against what the asker may see. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSelector, parseSelector, resolveSelector, type Selectable } from '../../internal/apps/select';

const rows: Selectable[] = [
  { id: 1, uid: 0, user: 'root', app: 'web', instance: 0, groups: ['front'] },
  { id: 2, uid: 0, user: 'root', app: 'web', instance: 1, groups: ['front'] },
  { id: 3, uid: 0, user: 'root', app: 'db', instance: 0, groups: ['back'] },
  { id: 4, uid: 1000, user: 'ann', app: 'web', instance: 0, groups: ['front'] },
  { id: 5, uid: 1000, user: 'ann', app: 'job', instance: 0, groups: [] },
  { id: 6, uid: 1001, user: 'ben', app: 'job', instance: 0, groups: ['back'] },
  { id: 7, uid: 1002, user: 'cat', app: 'job', instance: 0, groups: [] },
];
const root = { uid: 0, admin: true };
const ann = { uid: 1000, admin: false };
const ids = (sel: string, asker = root): number[] => resolveSelector(parseSelector(sel), rows, asker).map((r) => r.id);
const fails = (f: () => unknown, code: string, re: RegExp): void => {
  assert.throws(f, (e: any) => e.code === code && re.test(e.message) && !e.message.includes('\n'));
};

test('every spelling parses one way and prints back as written', () => {
  for (const [text, sel] of [
    ['all', { kind: 'all' }],
    ['42', { kind: 'id', id: 42 }],
    ['web', { kind: 'app', app: 'web' }],
    ['web:2', { kind: 'app', app: 'web', instance: 2 }],
    ['ann/web', { kind: 'app', user: 'ann', app: 'web' }],
    ['ann/web:0', { kind: 'app', user: 'ann', app: 'web', instance: 0 }],
    ['@back', { kind: 'group', group: 'back' }],
    ['my.app-1_x', { kind: 'app', app: 'my.app-1_x' }],
  ] as const) {
    assert.deepEqual(parseSelector(text), sel, text);
    assert.equal(formatSelector(parseSelector(text)), text);
  }
});

test('bad selectors are one line naming what is wrong', () => {
  fails(() => parseSelector(''), 'INVALID_ARGUMENT', /^selector must not be empty$/);
  fails(() => parseSelector('x'.repeat(10_000)), 'INVALID_ARGUMENT', /longer than/);
  fails(() => parseSelector('web\nx'), 'INVALID_ARGUMENT', /control character/);
  fails(() => parseSelector('0'), 'INVALID_ARGUMENT', /ids are 1 to/);
  fails(() => parseSelector('99999999999'), 'INVALID_ARGUMENT', /ids are 1 to/);
  fails(() => parseSelector('web:'), 'INVALID_ARGUMENT', /instance after ":"/);
  fails(() => parseSelector('web:-1'), 'INVALID_ARGUMENT', /instance after ":"/);
  fails(() => parseSelector('web:1000'), 'INVALID_ARGUMENT', /instance after ":"/);
  fails(() => parseSelector('web:x'), 'INVALID_ARGUMENT', /instance after ":"/);
  fails(() => parseSelector('@'), 'INVALID_ARGUMENT', /group "" is not a valid name/);
  fails(() => parseSelector('@../etc'), 'INVALID_ARGUMENT', /not a valid name/);
  fails(() => parseSelector('../web'), 'INVALID_ARGUMENT', /is not a user name/);
  fails(() => parseSelector('ann/'), 'INVALID_ARGUMENT', /app "" is not a valid name/);
  fails(() => parseSelector('ann/12'), 'INVALID_ARGUMENT', /not a valid name/);
  for (const bad of ['$(id)', 'a b', '"web"', "w'eb", 'web;ls', '-web', '.web', 'a/b/c']) {
    assert.throws(() => parseSelector(bad), (e: any) => e.code === 'INVALID_ARGUMENT', bad);
  }
});

test('root: a bare name is its own app; another user\'s by user/name; the only owner\'s when root has none', () => {
  assert.deepEqual(ids('web'), [1, 2]);
  assert.deepEqual(ids('web:1'), [2]);
  assert.deepEqual(ids('ann/web'), [4]);
  assert.deepEqual(ids('ann/job'), [5]);
  fails(() => ids('job'), 'INVALID_ARGUMENT', /^"job" names processes of several users \(ann\/job, ben\/job, cat\/job\); say which/);
  assert.deepEqual(ids('all'), [1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(ids('@back'), [3, 6]);
  assert.deepEqual(ids('@nobody'), []);
  assert.deepEqual(ids('6'), [6]);
  fails(() => ids('web:7'), 'NOT_FOUND', /^process "web:7" not found$/);
});

test('a user sees only their own, and another user\'s process reads exactly like a missing one', () => {
  assert.deepEqual(ids('web', ann), [4]);
  assert.deepEqual(ids('job', ann), [5]);
  assert.deepEqual(ids('all', ann), [4, 5]);
  assert.deepEqual(ids('@front', ann), [4]);
  assert.deepEqual(ids('@back', ann), []);
  fails(() => ids('db', ann), 'NOT_FOUND', /^process "db" not found$/);
  fails(() => ids('nothing', ann), 'NOT_FOUND', /^process "nothing" not found$/);
  fails(() => ids('3', ann), 'NOT_FOUND', /^process "3" not found$/);
  fails(() => ids('999', ann), 'NOT_FOUND', /^process "999" not found$/);
  fails(() => ids('root/web', ann), 'NOT_FOUND', /^process "root\/web" not found$/);
  fails(() => ids('ben/job', ann), 'NOT_FOUND', /^process "ben\/job" not found$/);
});
