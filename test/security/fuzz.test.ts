/**
 * Fuzzing the wire: well over 10 000 random, truncated, oversized and
 * type-confused frames. pmond must stay up, keep its memory bounded, leave
 * the database exactly as it was, and answer a normal ls afterwards.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { encodeFrame, METHOD_NAMES, PROTOCOL_VERSION } from '../../internal/protocol';
import { TestDaemon } from '../helpers/daemon';
import { rng } from '../helpers/rng';
import { integrity } from '../helpers/os';
import { waitFor } from '../helpers/wait';

const FRAMES = 12_000;
const MAX_FRAME = 64 * 1024;

let d: TestDaemon;
before(async () => {
  d = await TestDaemon.start({ config: { max_frame_bytes: MAX_FRAME, idle_timeout: 2 } });
  await d.json(['exec', '/bin/sleep', '--name', 'keep-a', '-a', '300']);
  await d.json(['exec', '/bin/sleep', '--name', 'keep-b', '-a', '300']);
});
after(async () => {
  await d?.stop();
});

const rssKiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

function fuzzValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 3 ? 6 : 10));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return [0, -1, 1e308, -0, 2 ** 53 + 1, 3.5, NaN][Math.floor(r() * 7)];
    case 3: return 'zz' + Math.floor(r() * 1e9).toString(36);
    case 4: return ['', '../..', '$(touch /tmp/fuzz-pwned)', '\u0000', '😀'.repeat(50), 'x'.repeat(Math.floor(r() * 5000))][Math.floor(r() * 6)];
    case 5: return '/zz/' + Math.floor(r() * 1e6);
    case 6: return Array.from({ length: Math.floor(r() * 5) }, () => fuzzValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const keys = ['target', 'force', 'file', 'args', 'env', 'cwd', 'name', 'lines', 'follow', 'count', 'user', 'log', '__proto__', 'constructor', 'auto_restart'];
      for (let i = Math.floor(r() * 5); i > 0; i--) o[keys[Math.floor(r() * keys.length)]!] = fuzzValue(r, depth + 1);
      return o;
    }
  }
}

/** Methods that act on everything must never receive a valid request here (that would be a legit kill/drop). */
const SWEEPING = new Set(['kill', 'drop', 'init', 'reset']);

function fuzzFrame(r: () => number, id: number): { bytes: Buffer; fatal: boolean } {
  const kind = r();
  if (kind < 0.02) {
    // oversized header
    const h = Buffer.alloc(8);
    h.writeUInt32BE(MAX_FRAME + 1 + Math.floor(r() * 1e9));
    return { bytes: h, fatal: true };
  }
  if (kind < 0.04) {
    // random bytes
    return { bytes: Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))), fatal: true };
  }
  if (kind < 0.06) {
    // invalid JSON inside a valid header
    const body = Buffer.from('{"v":1,"id":' + id + ',"method":');
    const h = Buffer.alloc(4);
    h.writeUInt32BE(body.length);
    return { bytes: Buffer.concat([h, body]), fatal: true };
  }
  const methods = [...METHOD_NAMES, 'nope', '', 'constructor', '__proto__', 'toString'];
  const method = methods[Math.floor(r() * methods.length)]!;
  let params = fuzzValue(r);
  if (SWEEPING.has(method)) params = { force: true, junk: fuzzValue(r) };
  const envelope: Record<string, unknown> =
    r() < 0.1 ? (fuzzValue(r) as Record<string, unknown>) : { v: r() < 0.95 ? PROTOCOL_VERSION : fuzzValue(r), id: r() < 0.95 ? id : fuzzValue(r), method, params };
  let bytes: Buffer;
  try {
    bytes = encodeFrame(envelope, 1 << 30);
  } catch {
    bytes = encodeFrame({ v: PROTOCOL_VERSION, id, method: 'ping', params: {} });
  }
  if (r() < 0.03) return { bytes: bytes.subarray(0, Math.floor(r() * bytes.length)), fatal: true }; // truncated, then hang up
  return { bytes, fatal: false };
}

/** Send frames on one connection; resolve when the server closes it or it goes quiet. */
function blast(frames: Buffer[], hangUp: boolean): Promise<number> {
  return new Promise((resolve) => {
    const s = net.connect(d.socket);
    let got = 0;
    const done = (): void => {
      s.destroy();
      resolve(got);
    };
    s.on('data', (b) => (got += b.length));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.on('connect', () => {
      s.write(Buffer.concat(frames), () => {
        if (hangUp) s.end();
        setTimeout(done, 150);
      });
    });
  });
}

test(`${FRAMES} fuzzed frames: pmond stays up, bounded, and changes nothing`, async () => {
  const snapshot = async (): Promise<string> =>
    JSON.stringify((await d.ls()).map((p: any) => [p.id, p.name, p.pid, p.status, p.restarts, p.args, p.updated_at]));
  const before = await snapshot();
  const rss0 = rssKiB(d.pid);
  const r = rng(20261121);
  let sent = 0;
  let connections = 0;
  let batch: Buffer[] = [];
  const pending: Promise<number>[] = [];
  for (let i = 1; i <= FRAMES; i++) {
    const f = fuzzFrame(r, i);
    batch.push(f.bytes);
    sent++;
    if (f.fatal || batch.length >= 200) {
      pending.push(blast(batch, f.fatal));
      connections++;
      batch = [];
      if (pending.length >= 8) await Promise.all(pending.splice(0));
    }
  }
  if (batch.length) pending.push(blast(batch, false));
  await Promise.all(pending);
  const rss1 = rssKiB(d.pid);
  console.log(`# fuzz figures: ${JSON.stringify({ frames: sent, connections, rssBeforeKiB: rss0, rssAfterKiB: rss1 })}`);
  assert.ok(sent >= 10_000);
  assert.ok(rss1 < rss0 + 64 * 1024, `memory bounded: ${rss0} → ${rss1} KiB`);
  assert.equal(await snapshot(), before, 'database unchanged');
  assert.equal(integrity(path.join(d.data, 'data.db')), 'ok');
  assert.equal(fs.existsSync('/tmp/fuzz-pwned'), false);
  const ls = await d.run(['ls']);
  assert.equal(ls.code, 0);
  assert.match(ls.stdout, /keep-a/);
  await waitFor('pmond still alive', () => fs.existsSync(`/proc/${d.pid}`));
});
