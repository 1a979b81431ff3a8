/**
 * Readiness and health checks as an apps file writes them (`ready:`, `health:`), parsed and
 * checked. Pure: the checks themselves run in internal/supervisor/checks.ts.
 *
 * - `none`: ready once spawned (the default).
 * - `delay:2s`: ready once it has stayed up that long (Firestarter's ack timer).
 * - `notify`: ready when the instance sends READY=1 to $NOTIFY_SOCKET (sd_notify; the sender's
 *   pid, from the kernel, must be the instance's or a descendant's).
 * - `tcp` / `tcp:PORT`: ready once the instance itself (its process or a descendant) has a
 *   listening TCP socket (on PORT).
 * - `http:/PATH` / `http://127.0.0.1:PORT/PATH`: ready once a GET of PATH on the instance's own
 *   listening port (or PORT, loopback only) answers 2xx or 3xx.
 *
 * An instance that shares sockets holds them from its first instruction: tcp, and http without a
 * port of its own, cannot tell a ready instance from one still loading, nor one instance from
 * another, so they are refused with sockets (notify or delay say it).
 */
import type { SocketSpec } from '../protocol/methods';
import { parseListen } from './sockets';

/** Not ready within this long (no ready_timeout): a failed start. */
export const DEFAULT_READY_TIMEOUT_MS = 60_000;

export type Ready =
  | { kind: 'none' }
  | { kind: 'notify' }
  | { kind: 'delay'; ms: number }
  | { kind: 'tcp'; port?: number }
  | { kind: 'http'; path: string; host?: string; port?: number };

/** An HTTP check's target: a path on the instance's own port, or a loopback URL. */
export type HttpTarget = { path: string; host?: string; port?: number };

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATH_RE = /^\/[\x21-\x7e]{0,1023}$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Milliseconds of "500ms", "2s", "1m", "1h" or bare seconds; throws on anything else. */
export function durationMs(text: string): number {
  const m = DURATION_RE.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text.slice(0, 40))} is not a duration ("500ms", "2s", "1m")`);
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!);
  if (!Number.isFinite(ms) || ms > 86_400_000) throw new Error(`${JSON.stringify(text.slice(0, 40))}: at most 24h`);
  return ms;
}

/** An HTTP check target: `/PATH`, or `http://HOST:PORT/PATH` with a loopback HOST. */
export function parseHttpTarget(text: string): HttpTarget {
  if (text.startsWith('/')) {
    if (!PATH_RE.test(text)) throw new Error(`${JSON.stringify(text.slice(0, 40))}: a path is / and up to 1023 printable characters, no spaces`);
    return { path: text };
  }
  const m = /^http:\/\/(\[::1\]|127\.0\.0\.1|localhost):(\d{1,5})(\/[\x21-\x7e]{0,1023})?$/.exec(text);
  if (!m) {
    const host = /^https?:\/\/([^/:]+|\[[^\]]*\])/.exec(text)?.[1];
    if (host && !LOOPBACK.has(host)) throw new Error(`${JSON.stringify(host.slice(0, 60))}: an HTTP check goes to this machine only (127.0.0.1, [::1] or localhost)`);
    throw new Error(`${JSON.stringify(text.slice(0, 60))} is not /PATH or http://127.0.0.1:PORT/PATH`);
  }
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`port ${m[2]}: 1 to 65535`);
  return { path: m[3] ?? '/', host: m[1] === 'localhost' ? '127.0.0.1' : m[1] === '[::1]' ? '::1' : m[1]!, port };
}

/** A `ready:` value; throws one line saying what is wrong. */
export function parseReady(text: string): Ready {
  if (text === 'none' || text === 'notify') return { kind: text };
  if (text === 'tcp') return { kind: 'tcp' };
  const tcp = /^tcp:(\d{1,5})$/.exec(text);
  if (tcp) {
    const port = Number(tcp[1]);
    if (port < 1 || port > 65535) throw new Error(`port ${tcp[1]}: 1 to 65535`);
    return { kind: 'tcp', port };
  }
  if (text.startsWith('delay:')) {
    const ms = durationMs(text.slice(6));
    if (ms < 1) throw new Error('a delay of at least 1ms');
    return { kind: 'delay', ms };
  }
  if (text.startsWith('http:/') && !text.startsWith('http://')) return { kind: 'http', ...parseHttpTarget(text.slice(5)) };
  if (text.startsWith('http://')) return { kind: 'http', ...parseHttpTarget(text) };
  throw new Error(`${JSON.stringify(text.slice(0, 60))} is not notify, tcp, tcp:PORT, http:/PATH, http://127.0.0.1:PORT/PATH, delay:DURATION or none`);
}

/** The ports of an app's shared sockets. */
function sharedPorts(sockets: readonly SocketSpec[] | undefined): Set<number> {
  const out = new Set<number>();
  for (const s of sockets ?? []) {
    try {
      const l = parseListen(s.listen);
      if (l.family !== 'unix') out.add(l.port);
    } catch {
      /* checked elsewhere */
    }
  }
  return out;
}

/**
 * Why a check cannot tell instances of an app with these sockets apart, or undefined: a check
 * on the instance's own listening port, or on a port the instances share, would pass for any of them.
 */
export function sharedSocketProblem(what: string, target: { port?: number } | undefined, sockets: readonly SocketSpec[] | undefined): string | undefined {
  if (!sockets?.length || !target) return undefined;
  if (target.port === undefined) {
    return `${what} looks for the instance's own listening port, but every instance holds the shared sockets from its start; use ready: notify or delay:, or give a port of the instance's own`;
  }
  if (sharedPorts(sockets).has(target.port)) return `${what}: port ${target.port} is shared by every instance, so any of them answers; use ready: notify, or a port of the instance's own`;
  return undefined;
}
