/** The HTTP door's authenticator with a clock of the test's: windows, bounds, tokens, rates. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Authenticator, MAX_CHALLENGES, type KeyEntry } from '../../internal/http/auth';
import { authorization, generateKey, parsePrivate, parsePublic, signChallenge } from '../../internal/protocol/keys';
import { roleAllows } from '../../internal/http/roles';
import { match } from '../../internal/http/routes';
import { PmonError } from '../../internal/protocol/errors';

function setup(rate = 1000) {
  let now = 1_000_000;
  const k = generateKey();
  const priv = parsePrivate(k.privatePem);
  const pub = parsePublic(k.publicLine);
  const entry: KeyEntry = { name: 'k', id: pub.id, key: pub.key, certSha256: null, user: 'u', uid: 1000, gid: 1000, role: 'operator', rate };
  const auth = new Authenticator([entry], { maxSkewMs: 30_000, tokenTtlMs: 60_000, now: () => now });
  const req = (h: string, url = '/v1/info', body = '') => auth.authenticate({ method: 'GET', url, authorization: h, body: Buffer.from(body), certSha256: null });
  return { auth, priv, pub, req, tick: (ms: number) => (now += ms), at: () => now };
}

const code = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    return e instanceof PmonError ? e.code : String(e);
  }
};

test("key ids match between a pair's halves; a malformed public key is one line", () => {
  const k = generateKey();
  assert.equal(parsePrivate(k.privatePem).id, parsePublic(k.publicLine).id);
  assert.equal(parsePublic(k.publicLine).id, k.id);
  assert.throws(() => parsePublic('pmon3-ed25519 short'), /is not "pmon3-ed25519 BASE64URL" of 32 bytes/);
  assert.throws(() => parsePrivate('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----'), /private key/);
});

test('nonces are forgotten after twice max_skew, when the timestamp alone refuses a replay', () => {
  const s = setup();
  const h = authorization(s.priv, 'GET', '/v1/info', '', s.at());
  assert.equal(s.req(h).name, 'k');
  assert.equal(code(() => s.req(h)), 'PERMISSION_DENIED');
  assert.equal(s.auth.sizes().nonces, 1);
  s.tick(61_000);
  assert.equal(code(() => s.req(h)), 'PERMISSION_DENIED', 'stale now');
  s.req(authorization(s.priv, 'GET', '/v1/info', '', s.at()));
  assert.equal(s.auth.sizes().nonces, 1, 'the old nonce swept');
});

test('a rate of 2 per second: a burst of 4, then one more per 500 ms', () => {
  const s = setup(2);
  const one = () => code(() => s.req(authorization(s.priv, 'GET', '/v1/info', '', s.at())));
  assert.deepEqual([one(), one(), one(), one(), one()], ['ok', 'ok', 'ok', 'ok', 'UNAVAILABLE']);
  s.tick(500);
  assert.deepEqual([one(), one()], ['ok', 'UNAVAILABLE']);
});

test('tokens last token_ttl; challenges are good once, for a minute, and cost nothing kept until used', () => {
  const s = setup();
  const c = s.auth.challenge().challenge;
  const t = s.auth.login(s.pub.id, c, signChallenge(s.priv, c));
  assert.equal(s.req(`Bearer ${t.token}`).via, 'token');
  s.tick(60_001);
  assert.equal(code(() => s.req(`Bearer ${t.token}`)), 'PERMISSION_DENIED');
  const old = s.auth.challenge().challenge;
  s.tick(60_001);
  assert.equal(code(() => s.auth.login(s.pub.id, old, signChallenge(s.priv, old))), 'PERMISSION_DENIED');
  for (let i = 0; i < MAX_CHALLENGES * 3; i++) s.auth.challenge();
  assert.equal(s.auth.sizes().challenges, 0, 'unused challenges are not kept (and the used one has expired)');
  const fresh = s.auth.challenge().challenge;
  const tampered = fresh.slice(0, 10) + (fresh[10] === 'A' ? 'B' : 'A') + fresh.slice(11);
  assert.equal(code(() => s.auth.login(s.pub.id, tampered, signChallenge(s.priv, tampered))), 'PERMISSION_DENIED');
  assert.equal(code(() => s.auth.login(s.pub.id, fresh, signChallenge(s.priv, fresh))), 'ok');
  assert.equal(code(() => s.auth.login(s.pub.id, fresh, signChallenge(s.priv, fresh))), 'PERMISSION_DENIED', 'once');
});

test('a signature over another path, body or method is refused', () => {
  const s = setup();
  assert.equal(code(() => s.req(authorization(s.priv, 'GET', '/v1/info', '', s.at()), '/v1/processes')), 'PERMISSION_DENIED');
  assert.equal(code(() => s.req(authorization(s.priv, 'GET', '/v1/info', 'a', s.at()), '/v1/info', 'b')), 'PERMISSION_DENIED');
  assert.equal(code(() => s.req(authorization(s.priv, 'POST', '/v1/info', '', s.at()))), 'PERMISSION_DENIED');
});

test('roles: viewers read, operators act, admins do all; group by its action', () => {
  assert.ok(roleAllows('viewer', 'list'));
  assert.ok(!roleAllows('viewer', 'restart'));
  assert.ok(roleAllows('operator', 'restart'));
  assert.ok(!roleAllows('operator', 'exec'));
  assert.ok(!roleAllows('operator', 'delete'));
  assert.ok(roleAllows('admin', 'exec'));
  assert.ok(roleAllows('viewer', 'group', { action: 'ls' }));
  assert.ok(!roleAllows('viewer', 'group', { action: 'create' }));
  assert.ok(!roleAllows('operator', 'group', { action: 'del' }));
  assert.ok(roleAllows('operator', 'act', { action: 'restart' }));
  assert.ok(!roleAllows('operator', 'act', { action: 'delete' }), 'delete is admin-only by every path');
  assert.ok(!roleAllows('viewer', 'act', { action: 'stop' }));
  assert.ok(!roleAllows('viewer', 'constructor'));
  assert.ok(!roleAllows('viewer', '__proto__'));
});

test('routes: segments percent-decoded, a wrong verb told apart from no route', () => {
  const m = match('GET', '/v1/processes/a%2Fb');
  assert.ok(m && m !== 'verb');
  assert.equal(m.seg.target, 'a/b');
  assert.equal(match('PATCH', '/v1/processes/x'), 'verb');
  assert.equal(match('GET', '/v1/nothing'), null);
  assert.equal(match('GET', '/v1/processes//start'), null);
});
