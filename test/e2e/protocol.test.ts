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

test('versions are negotiated, not matched: an older (2) and a newer (99) request are served, one older than pmond takes is refused in one line', async () => {
  for (const v of [2, V, 99]) {
    const r = await raw(frame({ v, id: 1, method: 'ping', params: {} }), 300);
    assert.equal(r.frames[0].ok, true, `v ${v}`);
    assert.ok(r.frames[0].result.capabilities.includes('ping'));
    assert.ok(r.frames[0].result.capabilities.includes('admin-door'));
  }
  const old = await raw(frame({ v: 1, id: 1, method: 'ping', params: {} }), 300);
  assert.equal(old.frames[0].error.code, 'FAILED_PRECONDITION');
  assert.match(old.frames[0].error.message, /^protocol version 1 is older than pmond takes \(2 to \d+\); use a newer pmon3$/);
  // The client asks before it uses a capability, and says in one line when pmond lacks it.
  const c = await Client.connect(d.socket);
  try {
    await c.require('ping', 'a ping');
    await assert.rejects(c.require('teleport', 'teleportation'), (e: any) => e.code === 'FAILED_PRECONDITION' && /cannot do teleportation \(it lacks "teleport"; it is older than this pmon3/.test(e.message));
  } finally {
    c.close();
  }
});

test('a reply from a newer pmond is read tolerantly: fields it adds are dropped, a status it adds is shown as it is, a protocol-2 pmond has its v2 capabilities', async () => {
  const { METHODS, V2_CAPABILITIES } = await import('../../internal/protocol');
  const view = {
    id: 1, name: 'a', status: 'hibernating', pid: null, restarts: 0, user: 'root', uid: 0, gid: 0, process_file: '/bin/true', args: [], env: {}, cwd: '/',
    log: '/x.log', auto_restart: true, cpu: null, memory: null, uptime_ms: null, last_exit_code: null, last_signal: null, started_at: null,
    created_at: 'x', updated_at: 'x', cgroup: null, saved: true, shiny_new_field: { deep: 1 },
  };
  const r = METHODS.describe.result.parse(view);
  assert.equal(r.status, 'hibernating');
  assert.equal('shiny_new_field' in r, false);
  // A protocol-2 pmond: ping without capabilities, served by a fake on a socket of our own.
  const { tempDir } = await import('../helpers/tmp');
  const sock = `${tempDir('pmp-')}/old.sock`;
  const srv = net.createServer((s) => {
    const dec = new FrameDecoder(1 << 20);
    s.on('data', (b) => {
      for (const f of dec.push(b) as any[]) {
        s.write(encodeFrame({ v: 2, id: f.id, ok: true, result: { protocol: 2, version: '0.9.0', pid: 1, health: { ok: true, store: { ok: true, since: null, error: null, pending: 0 }, cgroups: 'x' } } }, 1 << 20));
      }
    });
  });
  await new Promise<void>((res) => srv.listen(sock, () => res()));
  const c = await Client.connect(sock);
  try {
    assert.deepEqual([...(await c.capabilities())], [...V2_CAPABILITIES]);
    await assert.rejects(c.require('admin-door', 'the admin door'), (e: any) => e.code === 'FAILED_PRECONDITION');
  } finally {
    c.close();
    srv.close();
  }
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
      frame({ v: 1, id: 2, method: 'list', params: {} }),
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
