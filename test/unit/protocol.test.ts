import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encodeFrame,
  ERROR_CODES,
  EXIT_CODES,
  exitCodeFor,
  FrameDecoder,
  METHODS,
  nameSchema,
  PmonError,
  toWireError,
} from '../../internal/protocol';

test('frames round-trip, whole or split at every byte', () => {
  const msgs = [{ a: 1 }, { b: 'ünïcödé' }, [1, 2, 3]];
  const bytes = Buffer.concat(msgs.map((m) => encodeFrame(m)));
  assert.deepEqual(new FrameDecoder().push(bytes), msgs);
  const d = new FrameDecoder();
  const got: unknown[] = [];
  for (let i = 0; i < bytes.length; i++) got.push(...d.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(got, msgs);
});

test('an oversized frame is refused from its header, without buffering it', () => {
  const d = new FrameDecoder(1024);
  const head = Buffer.alloc(4);
  head.writeUInt32BE(1025);
  assert.throws(() => d.push(head), (e: any) => e.code === 'INVALID_ARGUMENT' && /1025 bytes/.test(e.message));
  assert.throws(() => encodeFrame('x'.repeat(2000), 1024), (e: any) => e.code === 'INVALID_ARGUMENT');
});

test('invalid JSON is INVALID_ARGUMENT', () => {
  const body = Buffer.from('{nope');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  assert.throws(() => new FrameDecoder().push(Buffer.concat([head, body])), (e: any) => e.code === 'INVALID_ARGUMENT');
});

test('error codes: closed set, one wire mapping, one exit mapping', () => {
  assert.deepEqual(Object.keys(EXIT_CODES).sort(), [...ERROR_CODES].sort());
  assert.equal(new Set(Object.values(EXIT_CODES)).size, ERROR_CODES.length);
  assert.deepEqual(toWireError(new PmonError('NOT_FOUND', 'x\ny')), { code: 'NOT_FOUND', message: 'x y' });
  assert.deepEqual(toWireError(new Error('boom')), { code: 'INTERNAL', message: 'boom' });
  assert.equal(exitCodeFor(new PmonError('UNAVAILABLE', '')), 7);
  assert.equal(exitCodeFor(new Error('x')), 1);
});

test('names: safe characters only', () => {
  for (const ok of ['web', 'api-2', 'a.b_c', '9lives']) assert.ok(nameSchema.safeParse(ok).success, ok);
  for (const bad of ['', '../x', 'a/b', 'a b', '"q"', "'q'", '$(x)', '.hidden', '-flag', 'a..b', 'x'.repeat(65), 'tab\t', '7', '0042']) {
    assert.ok(!nameSchema.safeParse(bad).success, JSON.stringify(bad));
  }
});

test('exec params are strict', () => {
  const base = { file: '/bin/true', args: [], env: {}, cwd: '/', auto_restart: true };
  assert.ok(METHODS.exec.params.safeParse(base).success);
  assert.ok(!METHODS.exec.params.safeParse({ ...base, extra: 1 }).success);
  assert.ok(!METHODS.exec.params.safeParse({ ...base, file: 'rel/ative' }).success);
  assert.ok(METHODS.exec.params.safeParse({ ...base, file: 'node' }).success, 'a bare name, looked up in PATH');
  assert.ok(!METHODS.exec.params.safeParse({ ...base, args: ['a\0b'] }).success);
  assert.ok(!METHODS.exec.params.safeParse({ ...base, env: { 'BAD-NAME': 'x' } }).success);
  assert.ok(!METHODS.exec.params.safeParse({ ...base, args: 'not an array' }).success);
});
