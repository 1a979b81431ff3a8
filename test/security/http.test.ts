/**
 * Attacks on the HTTP door (internal/http): no key, a stranger's key, a forged or moved
 * signature, a replay, a stale or future timestamp, an altered body or path, a viewer that
 * mutates, another site's page, oversized and malformed requests (10 000 of them), a flood of
 * connections, a key over its rate, tokens, client certificates, and a key bound to one Unix
 * user reaching for another's processes. After each, pmond answers on both doors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authorization, bodyHash, canonical, generateKey, parsePrivate, signChallenge } from '../../internal/protocol/keys';
import { PMON3, TestDaemon } from '../helpers/daemon';
import { loadKey, request, type Key } from '../helpers/http';
import { freePort } from '../helpers/net';
import { rng } from '../helpers/rng';
import { tempDir } from '../helpers/tmp';
import { isRoot, TestUsers, type TestUser } from '../helpers/users';
import { waitFor } from '../helpers/wait';
import { sign } from 'node:crypto';

let d: TestDaemon;
let port: number;
let dir: string;
let admin: Key;
let viewer: Key;
let slow: Key;
let stranger: Key;

function keyFile(name: string): { file: string; pub: string } {
  const file = path.join(dir, `${name}.key`);
  const out = JSON.parse(execFileSync(PMON3, ['key', 'gen', file, '--json'], { encoding: 'utf8' })) as { public_key: string };
  return { file, pub: out.public_key };
}

before(async () => {
  dir = tempDir('pmh-', 0o755);
  port = await freePort();
  const a = keyFile('admin');
  const v = keyFile('viewer');
  const s = keyFile('slow');
  const me = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  d = await TestDaemon.start({
    config: {
      http: {
        listen: `127.0.0.1:${port}`,
        max_connections: 16,
        max_body: 65536,
        rate: 100_000,
        keys: [
          { name: 'admin', public_key: a.pub, user: me, role: 'admin' },
          { name: 'viewer', public_key: v.pub, user: me, role: 'viewer' },
          { name: 'slow', public_key: s.pub, user: me, role: 'viewer', rate: 2 },
        ],
      },
    },
  });
  admin = loadKey(a.file);
  viewer = loadKey(v.file);
  slow = loadKey(s.file);
  stranger = parsePrivate(generateKey().privatePem);
  await d.json(['exec', '/bin/sleep', '--name', 'target', '--', '300']);
});

after(async () => {
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Both doors still answer. */
async function alive(): Promise<void> {
  const r = await request(port, '/v1/info', { key: admin });
  assert.equal(r.status, 200, r.text);
  assert.equal((await d.run(['info'])).code, 0);
}

function refused(r: { status: number; json: any; text: string }, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error?.code, status === 403 ? 'PERMISSION_DENIED' : status === 503 ? 'UNAVAILABLE' : status === 400 ? 'INVALID_ARGUMENT' : r.json?.error?.code);
  assert.match(r.json.error.message, pattern);
  assert.ok(!r.json.error.message.includes('\n'), 'one line');
}

/** A signed header over chosen parts (to forge one field at a time). */
function header(key: Key, method: string, p: string, body: string, ts = Date.now(), nonce = `n${Math.random().toString(36).slice(2)}xxxxxxxxxxxxxxxx`): string {
  const sig = sign(null, Buffer.from(canonical(method, p, bodyHash(body), ts, nonce)), key.key).toString('base64url');
  return `Pmon3-Ed25519 key=${key.id}, ts=${ts}, nonce=${nonce}, sig=${sig}`;
}

describe('authentication', () => {
  test('no key, a key not configured, a header that is not ours: 403, one line each', async () => {
    refused(await request(port, '/v1/processes'), 403, /no Authorization header/);
    refused(await request(port, '/v1/processes', { key: stranger }), 403, /is not one of http.keys/);
    refused(await request(port, '/v1/processes', { authorization: 'Basic YWRtaW46YWRtaW4=' }), 403, /is not "Pmon3-Ed25519/);
    refused(await request(port, '/v1/processes', { authorization: `Pmon3-Ed25519 key=${admin.id}, ts=1, nonce=short, sig=x` }), 403, /is not "Pmon3-Ed25519/);
    await alive();
  });

  test("a stranger's signature under an admin's key id: bad signature", async () => {
    const forged = header(stranger, 'GET', '/v1/processes', '').replace(`key=${stranger.id}`, `key=${admin.id}`);
    refused(await request(port, '/v1/processes', { authorization: forged }), 403, /^bad signature \(/);
    assert.ok(!(await request(port, '/v1/processes', { authorization: forged })).json.error.message.includes('admin'), 'a key\'s name is not told to whoever names its id');
  });

  test('altered body, path, method or query: bad signature', async () => {
    const body = JSON.stringify({ target: 'target', count: true });
    const h = header(admin, 'POST', '/v1/rpc/describe', JSON.stringify({ target: 'target' }));
    refused(await request(port, '/v1/rpc/describe', { method: 'POST', body, authorization: h }), 403, /bad signature/);
    const h2 = header(admin, 'GET', '/v1/info', '');
    refused(await request(port, '/v1/processes', { authorization: h2 }), 403, /bad signature/);
    const h3 = header(admin, 'GET', '/v1/processes/target', '');
    refused(await request(port, '/v1/processes/target', { method: 'DELETE', authorization: h3 }), 403, /bad signature/);
    const h4 = header(admin, 'GET', '/v1/logs/target?lines=1', '');
    refused(await request(port, '/v1/logs/target?lines=100000', { authorization: h4 }), 403, /bad signature/);
    assert.equal((await d.get('target')).status, 'running');
  });

  test('a replay is refused, within the window by its nonce, after it by its timestamp', async () => {
    const h = header(admin, 'GET', '/v1/info', '');
    assert.equal((await request(port, '/v1/info', { authorization: h })).status, 200);
    refused(await request(port, '/v1/info', { authorization: h }), 403, /replay/);
    refused(await request(port, '/v1/info', { authorization: header(admin, 'GET', '/v1/info', '', Date.now() - 120_000) }), 403, /s from pmond's clock/);
    refused(await request(port, '/v1/info', { authorization: header(admin, 'GET', '/v1/info', '', Date.now() + 120_000) }), 403, /s from pmond's clock/);
  });

  test('a viewer reads and may not mutate, on every path to a method', async () => {
    assert.equal((await request(port, '/v1/processes', { key: viewer })).status, 200);
    refused(await request(port, '/v1/processes/target/restart', { method: 'POST', key: viewer }), 403, /viewer\) may not call restart/);
    refused(await request(port, '/v1/rpc/stop', { method: 'POST', key: viewer, body: { target: 'target', force: true } }), 403, /may not call stop/);
    refused(await request(port, '/v1/processes', { method: 'POST', key: viewer, body: { file: '/bin/sh', args: [], env: {}, cwd: '/', auto_restart: false } }), 403, /may not call exec/);
    refused(await request(port, '/v1/rpc/group', { method: 'POST', key: viewer, body: { action: 'create', groups: ['g'], targets: [] } }), 403, /may not call group/);
    assert.equal((await d.get('target')).restarts, 0);
  });

  test('a page of another site is refused even with a good signature', async () => {
    refused(await request(port, '/v1/info', { key: admin, headers: { Origin: 'http://evil.example' } }), 403, /origin http:\/\/evil.example is refused/);
    refused(await request(port, '/v1/info', { key: admin, headers: { 'Sec-Fetch-Site': 'cross-site' } }), 403, /another site/);
    refused(await request(port, '/v1/auth/challenge', { method: 'POST', headers: { Origin: 'null' } }), 403, /origin null/);
    assert.equal((await request(port, '/v1/info', { key: admin, headers: { Origin: `http://127.0.0.1:${port}` } })).status, 200);
  });

  test('tokens: a signed challenge gives one; a challenge is good once; a made-up token is refused', async () => {
    const ch = (await request(port, '/v1/auth/challenge', { method: 'POST' })).json.challenge as string;
    const bad = await request(port, '/v1/auth/login', { method: 'POST', body: { key: admin.id, challenge: ch, signature: signChallenge(stranger, ch) } });
    refused(bad, 403, /bad signature of the challenge/);
    const forgedChallenge = await request(port, '/v1/auth/login', { method: 'POST', body: { key: viewer.id, challenge: 'A'.repeat(64), signature: signChallenge(viewer, 'A'.repeat(64)) } });
    refused(forgedChallenge, 403, /challenge is unknown, used or expired/);
    const ok = await request(port, '/v1/auth/login', { method: 'POST', body: { key: viewer.id, challenge: ch, signature: signChallenge(viewer, ch) } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.role, 'viewer');
    assert.deepEqual(ok.json.actions, []);
    const again = await request(port, '/v1/auth/login', { method: 'POST', body: { key: viewer.id, challenge: ch, signature: signChallenge(viewer, ch) } });
    refused(again, 403, /challenge is unknown, used or expired/);
    assert.equal((await request(port, '/v1/processes', { authorization: `Bearer ${ok.json.token}` })).status, 200);
    refused(await request(port, '/v1/processes/target/stop', { method: 'POST', authorization: `Bearer ${ok.json.token}` }), 403, /may not call stop/);
    refused(await request(port, '/v1/processes', { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }), 403, /token is unknown or expired/);
  });

  test("a key over its rate gets UNAVAILABLE; others' keys are not slowed", async () => {
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) codes.push((await request(port, '/v1/info', { key: slow })).status);
    assert.ok(codes.filter((c) => c === 503).length >= 6, `most of 12 over a rate of 2/s (burst 4) refused: ${codes.join(' ')}`);
    assert.equal(codes[0], 200);
    refused(await request(port, '/v1/info', { key: slow }), 503, /over its rate \(2 requests per second\)/);
    assert.equal((await request(port, '/v1/info', { key: viewer })).status, 200);
  });
});

describe('bounds and garbage', () => {
  test('a body over max_body is refused before it is read, a chunked one when it passes the bound', async () => {
    const big = 'x'.repeat(70_000);
    refused(await request(port, '/v1/rpc/ping', { method: 'POST', body: big, key: admin }), 400, /more than max_body 65536/);
    const chunked = await new Promise<number | string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/rpc/ping', headers: { 'Transfer-Encoding': 'chunked', Authorization: authorization(admin, 'POST', '/v1/rpc/ping', '') }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e) => resolve(e.message));
      for (let i = 0; i < 40; i++) req.write('y'.repeat(4096));
      req.end();
    });
    assert.ok(chunked === 400 || typeof chunked === 'string', `refused or cut: ${chunked}`);
    await alive();
  });

  test('malformed JSON, unknown methods and resources, bad percent-encoding, a 5000-byte URL: one line each, 4xx', async () => {
    const cases: Array<[string, string, string | undefined, number, RegExp]> = [
      ['POST', '/v1/rpc/describe', '{"target":', 400, /not JSON/],
      ['POST', '/v1/rpc/no_such', '{}', 400, /unknown method "no_such"/],
      ['POST', '/v1/rpc/describe', '{"target":"x","extra":1}', 400, /Unrecognized key|extra/],
      ['GET', '/v1/nothing', undefined, 404, /no resource \/v1\/nothing/],
      ['PUT', '/v1/info', undefined, 400, /PUT is not a method of \/v1\/info/],
      ['GET', '/v1/processes/%E0%A4%A', undefined, 400, /not valid percent-encoding/],
      ['GET', `/v1/processes/${'a'.repeat(5000)}`, undefined, 400, /longer than 4096/],
      ['GET', '/v1/processes/..%2F..%2Fetc%2Fshadow', undefined, 400, /.+/],
      ['GET', '/v1/logs/target?lines=-1', undefined, 400, /whole number/],
    ];
    for (const [method, p, body, status, pattern] of cases) {
      const r = await request(port, p, { method, key: admin, ...(body !== undefined ? { body } : {}) });
      assert.equal(r.status, status, `${method} ${p.slice(0, 60)}: ${r.text.slice(0, 300)}`);
      assert.match(r.json.error.message, pattern);
    }
    await alive();
  });

  test('10 000 random requests and raw garbage: every one answered or closed, pmond up, nothing changed', async () => {
    const rand = rng(16);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    const paths = ['/v1/info', '/v1/processes', '/v1/processes/target', '/v1/processes/target/restart', '/v1/rpc/ping', '/v1/rpc/stop', '/v1/logs/target', '/v1/events', '/metrics', '/v1/auth/login', '/', '/v1/stats'];
    const junk = (): string => {
      const n = Math.floor(rand() * 64);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(Math.floor(rand() * 256));
      return s;
    };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let done = 0;
    const statuses = new Map<number, number>();
    const ok200 = new Set<string>();
    const one = async (i: number): Promise<void> => {
      const verb = pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
      const p = pick(paths) + (rand() < 0.3 ? `?${encodeURIComponent(junk())}=${encodeURIComponent(junk())}` : '');
      const body = rand() < 0.5 ? junk() : JSON.stringify({ target: junk(), force: rand() < 0.5 });
      const auth = rand() < 0.4 ? `Pmon3-Ed25519 ${junk().replace(/[\r\n]/g, '')}` : rand() < 0.5 ? authorization(stranger, verb, p, body) : undefined;
      try {
        const r = await request(port, p, { method: verb, body, agent, ...(auth !== undefined ? { authorization: auth.replace(/[^\x20-\x7e]/g, '') } : {}), ...(p === '/v1/events' ? {} : {}) });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) ok200.add(p);
        assert.ok(r.status < 500 || r.status === 503, `${verb} ${p}: ${r.status} ${r.text.slice(0, 200)}`);
      } catch {
        /* a connection closed by pmond is an answer too */
      }
      done = i;
    };
    for (let i = 0; i < 9_500; i += 8) await Promise.all(Array.from({ length: 8 }, (_x, j) => one(i + j)));
    agent.destroy();
    // Raw bytes that are not HTTP at all.
    for (let i = 0; i < 500; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(Buffer.from(junk() + (rand() < 0.5 ? '\r\n\r\n' : ''), 'latin1')));
        s.on('data', () => undefined);
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.setTimeout(5000, () => s.destroy());
      });
    }
    assert.ok(done > 9_000);
    assert.deepEqual([...ok200].filter((p) => p !== '/' && !p.startsWith('/?')), [], `only the dashboard's page may answer 200 to strangers: ${[...statuses].join(' ')}`);
    const t = await d.get('target');
    assert.equal(t.status, 'running');
    assert.equal(t.restarts, 0);
    await alive();
  });

  test('max_connections held by idle sockets: the next is closed, the Unix socket still answers, HTTP again once they go', async () => {
    const held: net.Socket[] = [];
    for (let i = 0; i < 16; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      held.push(s);
    }
    await waitFor('the 17th connection to be closed at once', async () => {
      const r = await request(port, '/v1/info', { key: admin }).catch((e: Error) => e);
      return r instanceof Error;
    }, 5000, 50);
    assert.equal((await d.run(['info'])).code, 0);
    for (const s of held) s.destroy();
    await waitFor('HTTP to answer again', async () => (await request(port, '/v1/info', { key: admin }).catch(() => ({ status: 0 }))).status === 200, 5000, 50);
  });

  test('headers that never end: the connection is closed (headersTimeout), not held', async () => {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    await new Promise((r) => s.once('connect', r));
    s.write('GET /v1/info HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    await waitFor('pmond to close a connection whose headers never end', async () => {
      s.write('a');
      return s.destroyed || s.readyState === 'closed';
    }, 20_000, 200).catch(() => undefined);
    await Promise.race([closed, waitFor('close', () => s.destroyed, 1000).catch(() => undefined)]);
    assert.ok(s.destroyed, 'closed');
  });
});

describe('TLS: client certificates (mTLS), and --host verifying the server', () => {
  let td: TestDaemon | undefined;
  const tlsKey = generateKey();
  let tport: number;
  let certDir: string;
  const sh = (args: string[]): void => void execFileSync('openssl', args, { cwd: certDir, stdio: 'ignore' });
  before(async () => {
    certDir = tempDir('pmc-', 0o700);
    sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca']);
    sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=other-ca']);
    sh(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.pem', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    for (const [name, ca] of [['client', 'ca'], ['rogue', 'other-ca'], ['unlisted', 'ca']] as const) {
      sh(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
      sh(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2']);
    }
    const fp = (f: string): string => createHash('sha256').update(Buffer.from(fs.readFileSync(path.join(certDir, f), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64')).digest('hex');
    tport = await freePort();
    fs.writeFileSync(path.join(certDir, 'signed.key'), tlsKey.privatePem, { mode: 0o600 });
    const me = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
    td = await TestDaemon.start({
      config: {
        http: {
          listen: `127.0.0.1:${tport}`,
          tls: { cert: path.join(certDir, 'server.pem'), key: path.join(certDir, 'server.key'), client_ca: path.join(certDir, 'ca.pem') },
          keys: [
            { name: 'signed', public_key: tlsKey.publicLine, user: me, role: 'viewer' },
            { name: 'cert-op', cert_sha256: fp('client.pem'), user: me, role: 'operator' },
            { name: 'cert-rogue', cert_sha256: fp('rogue.pem'), user: me, role: 'admin' },
          ],
        },
      },
    });
  });
  after(async () => {
    await td?.stop();
    if (certDir) fs.rmSync(certDir, { recursive: true, force: true });
  });
  const get = (cert?: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: tport,
          path: '/v1/whoami',
          ca: fs.readFileSync(path.join(certDir, 'ca.pem')).toString() + fs.readFileSync(path.join(certDir, 'server.pem')).toString(),
          ...(cert ? { cert: fs.readFileSync(path.join(certDir, `${cert}.pem`)), key: fs.readFileSync(path.join(certDir, `${cert}.key`)) } : {}),
          agent: false,
        },
        (res) => {
          let t = '';
          res.on('data', (c) => (t += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  test("a listed certificate of client_ca is its key; one of another CA, one not listed, or none: 403", async () => {
    const ok = await get('client');
    assert.equal(ok.status, 200, ok.text);
    assert.equal(JSON.parse(ok.text).name, 'cert-op');
    assert.equal(JSON.parse(ok.text).via, 'certificate');
    const rogue = await get('rogue');
    assert.equal(rogue.status, 403, `a certificate listed by fingerprint but not signed by client_ca: ${rogue.text}`);
    assert.equal((await get('unlisted')).status, 403);
    assert.equal((await get()).status, 403);
  });
  test("--host verifies the server's certificate: with the host's ca, or NODE_EXTRA_CA_CERTS kept by the launcher; else refused", async () => {
    const hosts = path.join(certDir, 'hosts.yaml');
    const keyPath = path.join(certDir, 'signed.key');
    fs.writeFileSync(
      hosts,
      `hosts:\n  good: { url: "https://127.0.0.1:${tport}", key: "${keyPath}", ca: "${path.join(certDir, 'server.pem')}" }\n  bare: { url: "https://127.0.0.1:${tport}", key: "${keyPath}" }\n`,
      { mode: 0o600 },
    );
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => td!.run(args, { env: { PMON3_HOSTS: hosts, ...env } });
    const ok = await run(['ls', '--host', 'good']);
    assert.equal(ok.code, 0, ok.stderr);
    const bare = await run(['ls', '--host', 'bare']);
    assert.equal(bare.code, 7, 'an unknown CA is refused');
    assert.match(bare.stderr, /SELF_SIGNED|self[- ]signed|UNABLE_TO_VERIFY|certificate/i);
    const extra = await run(['ls', '--host', 'bare'], { NODE_EXTRA_CA_CERTS: path.join(certDir, 'server.pem') });
    assert.equal(extra.code, 0, `NODE_EXTRA_CA_CERTS reaches the HTTP client through the launcher: ${extra.stderr}`);
  });
});

describe('Unix-user binding', { skip: isRoot() ? false : 'needs root to create users' }, () => {
  const users = new TestUsers();
  let ud: TestDaemon | undefined;
  let uport: number;
  let alice: TestUser;
  let bob: TestUser;
  let aliceKey: Key;
  let rootKey: Key;
  before(async () => {
    alice = users.add('hk-alice');
    bob = users.add('hk-bob');
    uport = await freePort();
    const k = generateKey();
    aliceKey = parsePrivate(k.privatePem);
    const r = generateKey();
    rootKey = parsePrivate(r.privatePem);
    ud = await TestDaemon.start({
      config: {
        http: {
          listen: `127.0.0.1:${uport}`,
          keys: [
            { name: 'alice-admin', public_key: k.publicLine, user: alice.name, role: 'admin' },
            { name: 'root-viewer', public_key: r.publicLine, user: 'root', role: 'viewer' },
          ],
        },
      },
    });
    await ud.json(['exec', '/bin/sleep', '--name', 'bobs', '--', '300'], { as: bob });
    await ud.json(['exec', '/bin/sleep', '--name', 'alices', '--', '300'], { as: alice });
  });
  after(async () => {
    await ud?.stop();
    users.cleanup();
  });
  test("an admin key bound to alice sees and touches alice's processes only; exec as root or bob is refused", async () => {
    // root's listing first: the one pmond keeps a moment (listing-cache.ts) is never given to alice.
    const all = await request(uport, '/v1/processes', { key: rootKey });
    assert.deepEqual(all.json.processes.map((p: any) => p.name).sort(), ['alices', 'bobs']);
    const list = await request(uport, '/v1/processes', { key: aliceKey });
    assert.deepEqual(list.json.processes.map((p: any) => p.name), ['alices']);
    const full = await request(uport, '/v1/processes?fields=full', { key: aliceKey });
    assert.deepEqual(full.json.processes.map((p: any) => p.name), ['alices']);
    const bobs = (await ud!.ls()).find((p) => p.name === 'bobs');
    // As on the Unix socket: another user's process is not found by id (its existence is not told).
    const byId = await request(uport, `/v1/processes/${bobs.id}/stop`, { method: 'POST', key: aliceKey });
    assert.equal(byId.status, 404, byId.text);
    const byName = await request(uport, `/v1/processes/${encodeURIComponent(`${bob.name}/bobs`)}?force=1`, { method: 'DELETE', key: aliceKey });
    assert.ok(byName.status === 403 || byName.status === 404, byName.text);
    const asRoot = await request(uport, '/v1/processes', { method: 'POST', key: aliceKey, body: { file: '/bin/sleep', name: 'evil', args: ['1'], env: {}, cwd: '/tmp', user: 'root', auto_restart: false } });
    assert.equal(asRoot.status, 403, asRoot.text);
    const ev = await request(uport, '/v1/rpc/kill', { method: 'POST', key: aliceKey, body: { force: true } });
    assert.equal(ev.status, 200);
    assert.equal((await ud!.ls()).find((p) => p.name === 'bobs').status, 'running', "alice's kill stopped only hers");
  });
});
