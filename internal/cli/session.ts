/** What every CLI command needs: the configuration and a connected, verified client. */
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';
import { Client, type PmondClient } from '../client/client';
import { loadConfig } from '../config/config';
import { loadNative, type Native, socketFd } from '../native';
import { invalidArgument, permissionDenied, PmonError, unavailable } from '../protocol/errors';

/**
 * The root of the installed tree: bin/pmon3.js is argv[1] on every start-up path
 * (the snapshot sets it too), and build/Release sits beside bin/.
 */
function treeRoot(): string {
  const entry = process.argv[1] ?? __filename;
  let real = entry;
  try {
    real = fs.realpathSync(entry);
  } catch {
    /* keep it as given */
  }
  return path.join(path.dirname(real), '..');
}

/** The native addon of this tree (internal/native), for the CLI. */
export function cliNative(): Native {
  return loadNative(treeRoot());
}

/**
 * Refuse a server that is neither root nor the caller: a socket squatted in a
 * shared directory by another user must not receive a request (and the
 * `-e DB_PASSWORD=…` it may carry). The kernel says who listens (SO_PEERCRED).
 */
export function verifyServer(socket: net.Socket, socketPath: string): void {
  const fd = socketFd(socket);
  const me = process.getuid?.() ?? 0;
  let uid: number;
  try {
    if (fd === undefined) throw new Error('no file descriptor');
    uid = cliNative().getPeerCred(fd).uid;
  } catch (e) {
    throw permissionDenied(`cannot tell who serves ${socketPath} (${(e as Error).message}); not sending anything`);
  }
  if (uid !== 0 && uid !== me) {
    throw permissionDenied(`${socketPath} is served by uid ${uid}, neither root nor you (uid ${me}); not sending anything`);
  }
}

/** Connect to the pmond named by the configuration, with its identity checked and the configured deadlines. */
export async function connect(opts: { timeoutMs?: number } = {}): Promise<PmondClient> {
  const cfg = loadConfig();
  // One host of --host / `on` (main.ts runs the command once per host with PMON3_HOST set), or a user's own PMON3_HOST.
  const host = process.env.PMON3_HOST;
  if (host) {
    // Required here, not at the top: node:crypto and the HTTP client stay out of the start-up snapshot.
    const { hostClient, hostNames } = require('../client/hosts') as typeof import('../client/hosts');
    const names = hostNames(host);
    if (names.length !== 1) throw invalidArgument(`PMON3_HOST names ${names.length} hosts; one at a time (--host NAME, repeated, runs on several)`);
    return hostClient(names[0]!, cfg.client_timeout * 1000);
  }
  try {
    return await Client.connectAdminFirst(cfg.socket_path, {
      timeoutMs: opts.timeoutMs ?? Math.min(5000, cfg.client_timeout * 1000),
      idleMs: cfg.client_timeout * 1000,
      verifyPeerAt: (p) => (s) => verifyServer(s, p),
    });
  } catch (e) {
    // A user without a system pmond is one command away from their own (README "Run your own pmond").
    if (e instanceof PmonError && e.code === 'UNAVAILABLE' && /is it running\?$/.test(e.message) && (process.getuid?.() ?? 0) !== 0) {
      throw unavailable(`${e.message} (your own: pmon3 daemon start)`);
    }
    throw e;
  }
}

/** Connect, run fn, close. */
export async function withClient<T>(fn: (c: PmondClient) => Promise<T>): Promise<T> {
  const client = await connect();
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
