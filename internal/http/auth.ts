/**
 * Who sends an HTTP request, and whether they may send it now.
 *
 * - A signed request (keys.ts): the key must be configured, its timestamp within max_skew of
 *   pmond's clock, its signature good over method, path, body hash, timestamp and nonce, and its
 *   nonce unseen (nonces are kept per key for 2 × max_skew, so a replay within the window is
 *   refused by the nonce and one after it by the timestamp).
 * - A TLS client certificate (mTLS): verified by the TLS layer against client_ca, then its
 *   SHA-256 must be a configured key's cert_sha256.
 * - A bearer token (the dashboard): issued by login() against a signed challenge, for token_ttl.
 * - On a Unix-socket listen, a request with none of these is the kernel's caller (SO_PEERCRED),
 *   as on pmond's own socket.
 *
 * Bounds: every key has a token bucket (rate per second, a burst of twice as many), counted after
 * its signature is checked, so a stranger cannot spend someone's budget; the nonces kept are
 * bounded by the rates and the window (and in all by MAX_NONCES); challenges are made without
 * state (time + HMAC), so a flood of them costs nothing kept; the used ones (successful logins,
 * at most MAX_CHALLENGES a minute) and the tokens (MAX_TOKENS, oldest dropped first) are bounded.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { HttpRole } from '../config/config';
import { invalidArgument, permissionDenied, unavailable } from '../protocol/errors';
import { canonical, challengeText, parseAuthorization, parsePublic, verifySig } from '../protocol/keys';

export interface KeyEntry {
  name: string;
  id: string;
  /** Ed25519 public key; null for a certificate-only entry. */
  key: KeyObject | null;
  /** Lower-case hex without colons. */
  certSha256: string | null;
  user: string;
  uid: number;
  gid: number;
  role: HttpRole;
  rate: number;
}

/** Who a request is from, once authenticated. */
export interface Principal {
  /** The key's name, or `uid N` for a Unix-socket caller. */
  name: string;
  uid: number;
  gid: number;
  /** null: a Unix-socket caller (the Unix door's own rules). */
  role: HttpRole | null;
  via: 'signature' | 'certificate' | 'token' | 'peercred';
}

export const MAX_NONCES = 200_000;
/** Logins at most in one challenge lifetime (a minute), all keys together. */
export const MAX_CHALLENGES = 1024;
export const MAX_TOKENS = 4096;
const CHALLENGE_TTL_MS = 60_000;

class Bucket {
  private tokens: number;
  private at: number;
  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.tokens = rate * 2;
    this.at = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.rate * 2, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface AuthOptions {
  maxSkewMs: number;
  tokenTtlMs: number;
  now?: () => number;
}

export interface KeyConfig {
  name: string;
  public_key?: string | undefined;
  cert_sha256?: string | undefined;
  user: string;
  role: HttpRole;
  rate?: number | undefined;
}

export class Authenticator {
  private readonly byId = new Map<string, KeyEntry>();
  private readonly byCert = new Map<string, KeyEntry>();
  private readonly buckets = new Map<string, Bucket>();
  /** nonce (key id + nonce) → when it may be forgotten. Insertion order is expiry order. */
  private readonly nonces = new Map<string, number>();
  /** Challenges already used for a login → when they expire anyway (only successful logins add one). */
  private readonly usedChallenges = new Map<string, number>();
  /** Challenges are made without state (their time and an HMAC under this secret), so a flood of them evicts nobody's. */
  private readonly secret = randomBytes(32);
  private readonly tokens = new Map<string, { entry: KeyEntry; until: number }>();
  private readonly now: () => number;

  constructor(
    entries: KeyEntry[],
    private readonly o: AuthOptions,
  ) {
    this.now = o.now ?? Date.now;
    for (const e of entries) {
      if (e.key) {
        if (this.byId.has(e.id)) throw invalidArgument(`http.keys: ${e.name}: the same public key is listed twice`);
        this.byId.set(e.id, e);
      }
      if (e.certSha256) this.byCert.set(e.certSha256, e);
    }
  }

  /** The config's keys with their users resolved (uid, gid); INVALID_ARGUMENT naming the key that is wrong. */
  static async entries(keys: KeyConfig[], defaultRate: number, resolve: (user: string) => Promise<{ uid: number; gid: number }>): Promise<KeyEntry[]> {
    const out: KeyEntry[] = [];
    for (const k of keys) {
      let key: KeyObject | null = null;
      let id = '';
      if (k.public_key) {
        try {
          ({ key, id } = parsePublic(k.public_key));
        } catch (e) {
          throw invalidArgument(`http.keys: ${k.name}: ${(e as Error).message}`);
        }
      }
      let who: { uid: number; gid: number };
      try {
        who = await resolve(k.user);
      } catch (e) {
        throw invalidArgument(`http.keys: ${k.name}: user "${k.user}": ${(e as Error).message}`);
      }
      const cert = k.cert_sha256 ? k.cert_sha256.replace(/:/g, '').toLowerCase() : null;
      out.push({ name: k.name, id: id || `cert:${cert!.slice(0, 12)}`, key, certSha256: cert, user: k.user, uid: who.uid, gid: who.gid, role: k.role, rate: k.rate ?? defaultRate });
    }
    return out;
  }

  /**
   * The principal of a request, or PERMISSION_DENIED (UNAVAILABLE when over its rate) in one
   * line that names what was wrong and never the key's secret.
   */
  authenticate(req: { method: string; url: string; authorization: string | undefined; body: Buffer; certSha256: string | null }): Principal {
    const h = req.authorization;
    if (h?.startsWith('Bearer ')) return this.bearer(h.slice(7).trim());
    if (h) return this.signed(h, req);
    if (req.certSha256) {
      const e = this.byCert.get(req.certSha256);
      if (!e) throw permissionDenied('the client certificate is not one of http.keys');
      this.charge(e);
      return { name: e.name, uid: e.uid, gid: e.gid, role: e.role, via: 'certificate' };
    }
    throw permissionDenied('no Authorization header: sign the request with a key (pmon3 key gen)');
  }

  private signed(h: string, req: { method: string; url: string; body: Buffer }): Principal {
    const a = parseAuthorization(h);
    if (!a) throw permissionDenied('Authorization is not "Pmon3-Ed25519 key=…, ts=…, nonce=…, sig=…"');
    const e = this.byId.get(a.key);
    if (!e || !e.key) throw permissionDenied(`key ${a.key} is not one of http.keys`);
    const now = this.now();
    if (Math.abs(now - a.ts) > this.o.maxSkewMs) throw permissionDenied(`the request's timestamp is ${Math.round((now - a.ts) / 1000)} s from pmond's clock (at most ${this.o.maxSkewMs / 1000} s)`);
    const hash = createHash('sha256').update(req.body).digest('hex');
    if (!verifySig(e.key, canonical(req.method, req.url, hash, a.ts, a.nonce), a.sig)) throw permissionDenied('bad signature (method, path, body, timestamp and nonce are signed)');
    this.sweep(now);
    const n = `${e.id}:${a.nonce}`;
    if (this.nonces.has(n)) throw permissionDenied('this request was already received (a replay: its nonce was used)');
    if (this.nonces.size >= MAX_NONCES) throw unavailable('too many signed requests in the last window; try again');
    this.charge(e);
    this.nonces.set(n, now + 2 * this.o.maxSkewMs);
    return { name: e.name, uid: e.uid, gid: e.gid, role: e.role, via: 'signature' };
  }

  private bearer(token: string): Principal {
    const t = this.tokens.get(tokenKey(token));
    if (!t || t.until < this.now()) throw permissionDenied('the token is unknown or expired: log in again');
    this.charge(t.entry);
    return { name: t.entry.name, uid: t.entry.uid, gid: t.entry.gid, role: t.entry.role, via: 'token' };
  }

  private charge(e: KeyEntry): void {
    const now = this.now();
    let b = this.buckets.get(e.id);
    if (!b) this.buckets.set(e.id, (b = new Bucket(e.rate, now)));
    if (!b.take(now)) throw unavailable(`key ${e.name} is over its rate (${e.rate} requests per second)`);
  }

  private sweep(now: number): void {
    for (const [n, until] of this.nonces) {
      if (until > now) break;
      this.nonces.delete(n);
    }
  }

  /**
   * A login challenge (the dashboard signs it with its key): its time, 16 random bytes and an
   * HMAC of both under this pmond's secret. Nothing is kept until it is used.
   */
  challenge(): { challenge: string; expires_ms: number } {
    const body = Buffer.concat([Buffer.from(String(this.now()).padStart(16, '0')), randomBytes(16)]);
    const mac = createHmac('sha256', this.secret).update(body).digest().subarray(0, 16);
    return { challenge: Buffer.concat([body, mac]).toString('base64url'), expires_ms: CHALLENGE_TTL_MS };
  }

  /** When challenge was made, if it is one of ours. */
  private challengeTime(challenge: string): number | null {
    if (typeof challenge !== 'string' || !/^[A-Za-z0-9_-]{64}$/.test(challenge)) return null;
    const raw = Buffer.from(challenge, 'base64url');
    if (raw.length !== 48) return null;
    const mac = createHmac('sha256', this.secret).update(raw.subarray(0, 32)).digest().subarray(0, 16);
    if (!timingSafeEqual(mac, raw.subarray(32))) return null;
    const t = Number(raw.subarray(0, 16).toString());
    return Number.isFinite(t) ? t : null;
  }

  /** A token for the key that signed challenge (each challenge is good once). */
  login(keyId: string, challenge: string, sig: string): { token: string; expires_at: string; role: HttpRole; user: string; name: string } {
    const made = this.challengeTime(challenge);
    const now = this.now();
    for (const [c, until] of this.usedChallenges) {
      if (until > now) break;
      this.usedChallenges.delete(c);
    }
    if (made === null || made > now || now - made > CHALLENGE_TTL_MS || this.usedChallenges.has(challenge)) {
      throw permissionDenied('the challenge is unknown, used or expired: ask for a new one');
    }
    const e = typeof keyId === 'string' ? this.byId.get(keyId) : undefined;
    if (!e || !e.key) throw permissionDenied(`key ${String(keyId).slice(0, 32)} is not one of http.keys`);
    if (typeof sig !== 'string' || !verifySig(e.key, challengeText(challenge), sig)) throw permissionDenied('bad signature of the challenge');
    this.charge(e);
    if (this.usedChallenges.size >= MAX_CHALLENGES) throw unavailable('too many logins in the last minute; try again');
    this.usedChallenges.set(challenge, made + CHALLENGE_TTL_MS);
    for (const [t, v] of this.tokens) if (v.until <= now || this.tokens.size >= MAX_TOKENS) this.tokens.delete(t);
    const token = randomBytes(32).toString('base64url');
    const exp = now + this.o.tokenTtlMs;
    this.tokens.set(tokenKey(token), { entry: e, until: exp });
    return { token, expires_at: new Date(exp).toISOString(), role: e.role, user: e.user, name: e.name };
  }

  /** Forget a bearer token (the dashboard's log out); true when it was one. */
  logout(authorizationHeader: string | undefined): boolean {
    if (!authorizationHeader?.startsWith('Bearer ')) return false;
    return this.tokens.delete(tokenKey(authorizationHeader.slice(7).trim()));
  }

  /** How many of each thing are kept (metrics, tests). */
  sizes(): { nonces: number; challenges: number; tokens: number } {
    return { nonces: this.nonces.size, challenges: this.usedChallenges.size, tokens: this.tokens.size };
  }
}

/** Tokens are kept by their hash: a heap dump shows no usable token. */
function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
