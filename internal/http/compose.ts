/**
 * The HTTP door put together (called by internal/daemon/daemon.ts when `http.listen` is set):
 * keys resolved to their Unix users, the authenticator, metrics, Meproc's endpoints, the door.
 * A key that is wrong stops pmond's start with one line naming it (as any config error does);
 * an address that cannot be listened on leaves pmond up without the door, and pmond.log says why.
 */
import * as path from 'node:path';
import type { Config } from '../config/config';
import type { ExecHookRunner } from '../hooks/hooks';
import type { Logger } from '../logger/logger';
import type { PeerCredReader } from '../native';
import type { UserResolver } from '../process/users';
import { invalidArgument } from '../protocol/errors';
import type { Server } from '../server/server';
import { Authenticator, type Principal } from './auth';
import { HttpDoor } from './door';
import type { EventBus } from '../server/events';
import { meprocEndpoints } from './meproc';
import { Metrics } from './metrics';

export interface DoorParts {
  config: Config;
  server: Server;
  bus: EventBus;
  users: UserResolver;
  reader: PeerCredReader | null;
  daemonUid: number;
  /** Whether a user is root-like (root, pmond's own user, admin_group), as for hooks. */
  privileged(o: { uid: number; gid: number; user: string }): boolean;
  logger: Logger;
  version: string;
  hooks: Pick<ExecHookRunner, 'load'>;
  /** The store's generation (Store.generation), for the listings the door keeps a moment. */
  generation?: () => number;
}

export async function openDoor(p: DoorParts): Promise<HttpDoor | undefined> {
  const h = p.config.http;
  if (h.tls && h.listen.startsWith('/')) throw invalidArgument('http.tls: TLS is for a TCP listen, not a Unix socket path');
  const entries = await Authenticator.entries(h.keys, h.rate, async (u) => {
    const info = await p.users.user(u);
    return { uid: info.uid, gid: info.gid };
  });
  for (const e of entries) {
    if (p.daemonUid !== 0 && e.uid !== p.daemonUid) {
      throw invalidArgument(`http.keys: ${e.name}: user ${e.user} is not this pmond's own user (a per-user pmond serves only its owner)`);
    }
  }
  const byUid = new Map(entries.map((e) => [e.uid, e.user]));
  const auth = new Authenticator(entries, { maxSkewMs: h.max_skew * 1000, tokenTtlMs: h.token_ttl * 1000 });
  const metrics = new Metrics({ streams: () => p.bus.size, nonces: () => auth.sizes().nonces, hooks: () => p.hooks.load() });
  const admin = (x: Principal): boolean => p.privileged({ uid: x.uid, gid: x.gid, user: byUid.get(x.uid) ?? '' });
  const door = new HttpDoor({
    http: h,
    dispatch: (m, params, ctx) => p.server.dispatch(m, params, ctx),
    auth,
    callerFor: (x) => ({ uid: x.uid, gid: x.gid, pid: -1, admin: admin(x) }),
    peerCred: p.reader,
    events: p.bus,
    metrics,
    logger: p.logger,
    assets: path.join(__dirname, 'dashboard'),
    version: p.version,
    extra: meprocEndpoints({ home: async (u) => (await p.users.user(u)).home }),
    ...(p.generation ? { generation: p.generation } : {}),
  });
  try {
    await door.listen();
  } catch (e) {
    p.logger.error(`http: not listening on ${h.listen} (${(e as Error).message}); the Unix socket serves as before`);
    return undefined;
  }
  p.logger.info(`http: listening on ${door.address} with ${entries.length} keys${h.tls ? ', TLS' : ''}${h.tls?.client_ca ? ' and client certificates' : ''}`);
  return door;
}
