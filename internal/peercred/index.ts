/**
 * Caller identity from the kernel (SO_PEERCRED), through the tiny N-API
 * addon in peercred.c, built by node-gyp at `npm ci` (binding.gyp at the top).
 */
import * as net from 'node:net';
import * as path from 'node:path';

/** Who is on the other end of a Unix socket, as the kernel says. */
export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

interface Addon {
  getPeerCred(fd: number): PeerCred;
}

/** Reads a connected socket's peer credentials; null when not possible. */
export type PeerCredReader = (socket: net.Socket) => PeerCred | null;

/**
 * Load the addon. Returns null (with the reason) if it cannot be loaded, so
 * the daemon can fall back to refusing everyone but its own user.
 */
export function loadPeerCredReader(env: NodeJS.ProcessEnv = process.env): { reader: PeerCredReader | null; error?: string } {
  // PMON3_NO_PEERCRED=1 forces the stricter fallback (own uid only), e.g. to test it.
  if (env.PMON3_NO_PEERCRED === '1') return { reader: null, error: 'disabled by PMON3_NO_PEERCRED=1' };
  let addon: Addon;
  try {
    // dist/internal/peercred/index.js → <root>/build/Release/peercred.node
    addon = require(path.join(__dirname, '..', '..', '..', 'build', 'Release', 'peercred.node')) as Addon;
  } catch (e) {
    return { reader: null, error: (e as Error).message.split('\n')[0] };
  }
  const reader: PeerCredReader = (socket) => {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) return null;
    try {
      return addon.getPeerCred(fd);
    } catch {
      return null;
    }
  };
  return { reader };
}
