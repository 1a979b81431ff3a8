/** key gen FILE / key show FILE: an Ed25519 pair for the HTTP API (internal/protocol/keys.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alreadyExists, invalidArgument, notFound, permissionDenied } from '../../protocol/errors';
import { arg, type Handler } from './types';

export const key: Handler = async (r, io) => {
  // Required here, not at the top: node:crypto stays out of the start-up snapshot.
  const { generateKey, parsePrivate, PUBLIC_PREFIX } = require('../../protocol/keys') as typeof import('../../protocol/keys');
  const action = arg(r, 'action');
  const given = arg(r, 'file');
  if (!given) throw invalidArgument(`key ${action}: FILE is missing (the private key's file)`);
  const file = path.resolve(io.cwd, given);
  if (action === 'gen') {
    const k = generateKey();
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw alreadyExists(`key gen: ${file} exists (a key is never overwritten)`);
      throw permissionDenied(`key gen: ${file}: ${code ?? (e as Error).message}`);
    }
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeSync(fd, k.privatePem);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return {
      text: [
        `private key: ${file} (mode 0600; it stays with you)`,
        `public key:  ${k.publicLine}`,
        `key id:      ${k.id}`,
        '',
        "for pmond's config (http.keys), with the Unix user it acts as and its role:",
        `  - { name: ${path.basename(file).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'key'}, public_key: "${k.publicLine}", user: ${process.env.USER || 'USER'}, role: operator }`,
      ].join('\n'),
      value: { file, public_key: k.publicLine, id: k.id },
    };
  }
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`key show: ${file} does not exist`);
    throw permissionDenied(`key show: ${file}: ${code ?? (e as Error).message}`);
  }
  const { key: pk, id } = parsePrivate(pem);
  const raw = (require('node:crypto') as typeof import('node:crypto')).createPublicKey(pk).export({ format: 'der', type: 'spki' }).subarray(12);
  const line = `${PUBLIC_PREFIX}${raw.toString('base64url')}`;
  return { text: `${line}\nkey id: ${id}`, value: { file, public_key: line, id } };
};
