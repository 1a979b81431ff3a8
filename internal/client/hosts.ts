/**
 * The client's hosts file (README "Many hosts"): `$PMON3_HOSTS`, else
 * `$XDG_CONFIG_HOME/pmon3/hosts.yaml` (~/.config/pmon3/hosts.yaml):
 *
 *   hosts:
 *     web1: { url: "https://10.0.0.5:8606", key: "~/.config/pmon3/keys/ops.key", ca: "/etc/pmon3/ca.pem" }
 *     local: { url: "http://127.0.0.1:8606", key: "/home/me/.config/pmon3/keys/me.key" }
 *
 * `cert` and `cert_key` add a client certificate (mTLS). The file and every key file must be
 * the caller's own and writable by no one else (a key file readable by no one else either): a
 * file someone else can change could point pmon3 at their host with your key.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { parsePrivate } from '../protocol/keys';
import { invalidArgument, notFound, permissionDenied } from '../protocol/errors';
import { HttpClient } from './http-client';

const HOST_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

const hostSchema = z
  .object({
    url: z.string().min(1).max(1024),
    key: z.string().min(1).max(4096).optional(),
    ca: z.string().min(1).max(4096).optional(),
    cert: z.string().min(1).max(4096).optional(),
    cert_key: z.string().min(1).max(4096).optional(),
  })
  .strict();
const fileSchema = z.object({ hosts: z.record(z.string().regex(HOST_NAME, 'host names are letters, digits, ".", "_" and "-"'), hostSchema) }).strict();
export type HostEntry = z.infer<typeof hostSchema>;

export function hostsPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PMON3_HOSTS) return path.resolve(env.PMON3_HOSTS);
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'pmon3', 'hosts.yaml');
}

function expand(p: string, rel: string): string {
  if (p.startsWith('~/')) return path.join(os.homedir(), p.slice(2));
  return path.resolve(path.dirname(rel), p);
}

/** The caller's own file, writable by no one else (and, secret, readable by no one else). */
function ownFile(file: string, what: string, secret: boolean): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw notFound(`${what} ${file} does not exist`);
    throw permissionDenied(`${what} ${file}: ${code === 'ELOOP' ? 'a symlink (not followed)' : code}`);
  }
  try {
    const st = fs.fstatSync(fd);
    const me = process.getuid?.() ?? 0;
    if (!st.isFile()) throw invalidArgument(`${what} ${file} is not a regular file`);
    if (st.uid !== me && (secret || st.uid !== 0)) throw permissionDenied(`${what} ${file} belongs to uid ${st.uid}, not you${secret ? '' : ' or root'}`);
    if (st.mode & 0o022) throw permissionDenied(`${what} ${file} is writable by others (chmod go-w)`);
    if (secret && st.mode & 0o077) throw permissionDenied(`${what} ${file} is readable by others (chmod 600)`);
    if (st.size > 1024 * 1024) throw invalidArgument(`${what} ${file} is larger than 1 MiB`);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readHosts(file = hostsPath()): Record<string, HostEntry> {
  const text = ownFile(file, 'hosts file', false).toString('utf8');
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw invalidArgument(`hosts file ${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = fileSchema.safeParse(raw ?? { hosts: {} });
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw invalidArgument(`hosts file ${file}: ${i.path.join('.') || 'top'}: ${i.message}`);
  }
  return r.data.hosts;
}

/** The names a --host or `on` word gives: one name, or several separated by commas and spaces. */
export function hostNames(word: string): string[] {
  const names = word.split(/[\s,]+/).filter(Boolean);
  for (const n of names) if (!HOST_NAME.test(n)) throw invalidArgument(`host ${JSON.stringify(n.slice(0, 64))}: host names are letters, digits, ".", "_" and "-"`);
  return names;
}

/** A client of host name, from the hosts file. */
export function hostClient(name: string, idleMs: number, file = hostsPath()): HttpClient {
  const hosts = readHosts(file);
  const h = Object.prototype.hasOwnProperty.call(hosts, name) ? hosts[name] : undefined;
  if (!h) throw notFound(`host ${name} is not in ${file}${Object.keys(hosts).length ? ` (it has ${Object.keys(hosts).slice(0, 8).join(', ')})` : ''}`);
  const key = h.key ? parsePrivate(ownFile(expand(h.key, file), `host ${name}: key`, true).toString('utf8')) : undefined;
  const ca = h.ca ? [ownFile(expand(h.ca, file), `host ${name}: ca`, false)] : undefined;
  const cert = h.cert ? ownFile(expand(h.cert, file), `host ${name}: cert`, false) : undefined;
  const certKey = h.cert_key ? ownFile(expand(h.cert_key, file), `host ${name}: cert_key`, true) : undefined;
  return new HttpClient({ url: h.url, name, idleMs, ...(key ? { key } : {}), ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(certKey ? { certKey } : {}) });
}
