/**
 * The wire: malformed, oversized, wrong-version and silent clients cost
 * their sender the connection (or an error reply), never the daemon.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, test } from 'node:test';
import { Client } from '../../internal/client/client';
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION as V } from '../../internal/protocol';
import { TestDaemon } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';

let d: TestDaemon;
before(async () => {
  d = await TestDaemon.start({ config: { idle_timeout: 1, max_frame_bytes: 65536 } });
});
after(async () => {
  await d?.stop();
});

/** Send raw bytes; collect reply frames until the server closes or `ms` pass. */
function raw(bytes: Buffer, ms = 3000): Promise<{ frames: any[]; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(d.socket);
    const dec = new FrameDecoder(64 * 1024 * 1024);
    const frames: any[] = [];
    let closed = false;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ frames, closed });
    }, ms);
    s.on('data', (b) => frames.push(...dec.push(b)));
    s.on('close', () => {
      closed = true;
      clearTimeout(timer);
      resolve({ frames, closed });
    });
    s.on('error', () => undefined);
    s.on('connect', () => s.write(bytes));
  });
}

const frame = (v: unknown): Buffer => encodeFrame(v, 1 << 30);

test('a normal request over a raw socket', async () => {
  const r = await raw(frame({ v: V, id: 7, method: 'ping', params: {} }), 300);
  assert.equal(r.frames[0].id, 7);
  assert.equal(r.frames[0].ok, true);
  assert.equal(r.frames[0].result.protocol, V);
});

test('garbage bytes: INVALID_ARGUMENT and the connection is closed', async () => {
  const r = await raw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  assert.equal(r.closed, true);
  assert.equal(r.frames[0]?.error?.code, 'INVALID_ARGUMENT');
});

test('invalid JSON in a frame', async () => {
  const body = Buffer.from('{"v":1,');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  const r = await raw(Buffer.concat([head, body]));
  assert.equal(r.closed, true);
  assert.match(r.frames[0].error.message, /not valid JSON/);
});

test('an oversized frame is refused from its header', async () => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(65537);
  const r = await raw(Buffer.concat([head, Buffer.alloc(1000)]));
  assert.equal(r.closed, true);
  assert.match(r.frames[0].error.message, /exceeds the 65536-byte limit/);
});

test('wrong envelope, version, method and params get error replies', async () => {
  const r = await raw(
    Buffer.concat([
      frame({ hello: 'world' }),
      frame({ v: V + 1, id: 2, method: 'list', params: {} }),
      frame({ v: V, id: 3, method: 'rm_rf', params: {} }),
      frame({ v: V, id: 4, method: 'exec', params: { file: 42 } }),
      frame({ v: V, id: 5, method: 'stop', params: { target: 'x', force: 'yes' } }),
      frame({ v: V, id: 6, method: '__proto__', params: {} }),
      frame({ v: V, id: 7, method: 'list', params: { sneaky: true } }),
    ]),
    800,
  );
  const byId = new Map(r.frames.map((f) => [f.id, f]));
  assert.equal(byId.get(0).error.code, 'INVALID_ARGUMENT');
  assert.equal(byId.get(2).error.code, 'FAILED_PRECONDITION');
  assert.match(byId.get(3).error.message, /unknown method "rm_rf"/);
  assert.match(byId.get(4).error.message, /^file:/);
  assert.match(byId.get(5).error.message, /^force:/);
  assert.match(byId.get(6).error.message, /unknown method/);
  assert.equal(byId.get(7).error.code, 'INVALID_ARGUMENT');
});

test('a client that connects and says nothing is closed after idle_timeout', async () => {
  const t0 = Date.now();
  const r = await raw(Buffer.alloc(0), 10_000);
  assert.equal(r.closed, true);
  assert.ok(Date.now() - t0 < 9000);
});

test('a half-sent frame is dropped with the idle connection', async () => {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(100);
  const r = await raw(Buffer.concat([head, Buffer.from('{"v":1')]), 10_000);
  assert.equal(r.closed, true);
});

test('after all that, the daemon answers a normal ls', async () => {
  const c = await Client.connect(d.socket);
  try {
    assert.deepEqual(await c.call('list', {}), { processes: [], next: null });
  } finally {
    c.close();
  }
  assert.equal((await d.run(['ls'])).code, 0);
});

test('many connections at once are all served', async () => {
  const clients = await Promise.all(Array.from({ length: 50 }, () => Client.connect(d.socket)));
  try {
    const replies = await Promise.all(clients.map((c) => c.call('ping', {})));
    assert.equal(replies.length, 50);
  } finally {
    clients.forEach((c) => c.close());
  }
  await waitFor('connections closed', async () => (await d.json(['version'])).pmond);
});
