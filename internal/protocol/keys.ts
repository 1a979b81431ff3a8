/**
 * Keys of the HTTP door: Ed25519 pairs (node:crypto), written as one line each.
 *
 * - public:  `pmon3-ed25519 BASE64URL(32-byte raw key)`, what pmond's config lists;
 * - private: PKCS#8 PEM, what the client (pmon3 --host, the dashboard) holds, mode 0600.
 *
 * A key's id is the first 16 characters of the base64url SHA-256 of its raw public key: it
 * names the key in the Authorization header and in pmond.log, never the key itself.
 *
 * A request is signed over one canonical text (canonical()): the scheme's name, the method, the
 * path with its query exactly as sent, the body's SHA-256, the timestamp (ms since the epoch)
 * and a nonce. Changing any of them, replaying it or sending it late is refused by auth.ts.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { invalidArgument } from './errors';

export const PUBLIC_PREFIX = 'pmon3-ed25519 ';
/** The Authorization scheme of a signed request. */
export const SCHEME = 'Pmon3-Ed25519';
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 raw bytes. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface KeyPair {
  publicLine: string;
  privatePem: string;
  id: string;
}

/** A new pair. */
export function generateKey(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return {
    publicLine: `${PUBLIC_PREFIX}${raw.toString('base64url')}`,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    id: keyId(raw),
  };
}

export function keyId(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('base64url').slice(0, 16);
}

/** A public key line (or its base64url part alone) as a KeyObject and its id; INVALID_ARGUMENT naming what is wrong. */
export function parsePublic(line: string): { key: KeyObject; id: string } {
  const b64 = line.startsWith(PUBLIC_PREFIX) ? line.slice(PUBLIC_PREFIX.length).trim() : line.trim();
  if (!/^[A-Za-z0-9_-]{43}$/.test(b64)) throw invalidArgument(`public key "${line.slice(0, 80)}" is not "${PUBLIC_PREFIX.trim()} BASE64URL" of 32 bytes (pmon3 key gen makes one)`);
  const raw = Buffer.from(b64, 'base64url');
  if (raw.length !== 32) throw invalidArgument('public key is not 32 bytes');
  return { key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' }), id: keyId(raw) };
}

/** A private key PEM as a KeyObject and the id of its public half. */
export function parsePrivate(pem: string): { key: KeyObject; id: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw invalidArgument(`private key: ${(e as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw invalidArgument(`private key is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
  const raw = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
  return { key, id: keyId(raw) };
}

export function bodyHash(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex');
}

/** The text a request's signature covers. */
export function canonical(method: string, pathAndQuery: string, hash: string, ts: number, nonce: string): string {
  return `PMON3-V1\n${method.toUpperCase()}\n${pathAndQuery}\n${hash}\n${ts}\n${nonce}`;
}

/** The Authorization header of a request signed by key. */
export function authorization(key: { key: KeyObject; id: string }, method: string, pathAndQuery: string, body: Buffer | string, now = Date.now()): string {
  const nonce = randomBytes(16).toString('base64url');
  const sig = sign(null, Buffer.from(canonical(method, pathAndQuery, bodyHash(body), now, nonce)), key.key).toString('base64url');
  return `${SCHEME} key=${key.id}, ts=${now}, nonce=${nonce}, sig=${sig}`;
}

/** The text the dashboard signs to get a token: the challenge pmond gave. */
export function challengeText(challenge: string): string {
  return `PMON3-LOGIN-V1\n${challenge}`;
}

export function signChallenge(key: { key: KeyObject }, challenge: string): string {
  return sign(null, Buffer.from(challengeText(challenge)), key.key).toString('base64url');
}

export function verifySig(key: KeyObject, text: string, sig: string): boolean {
  if (!/^[A-Za-z0-9_-]{86}$/.test(sig)) return false;
  try {
    return verify(null, Buffer.from(text), key, Buffer.from(sig, 'base64url'));
  } catch {
    return false;
  }
}

/** The parts of a signed Authorization header, or null when it is not one. */
export function parseAuthorization(h: string): { key: string; ts: number; nonce: string; sig: string } | null {
  if (h.length > 512 || !h.startsWith(`${SCHEME} `)) return null;
  const parts = new Map<string, string>();
  for (const p of h.slice(SCHEME.length + 1).split(',')) {
    const m = /^\s*([a-z]+)=([A-Za-z0-9_-]{1,128})\s*$/.exec(p);
    if (!m || parts.has(m[1]!)) return null;
    parts.set(m[1]!, m[2]!);
  }
  const key = parts.get('key');
  const ts = parts.get('ts');
  const nonce = parts.get('nonce');
  const sig = parts.get('sig');
  if (!key || !ts || !nonce || !sig || parts.size !== 4 || !/^\d{1,16}$/.test(ts) || nonce.length < 16 || nonce.length > 64) return null;
  return { key, ts: Number(ts), nonce, sig };
}
