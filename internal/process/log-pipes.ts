/**
 * The pipes between instances and their loggers (pmon3-log), held by the exec server by key
 * (exec.c, "pmon3-pipe/1"): while pmond runs, the server holds both ends, so an instance never
 * gets EPIPE (a read end is held while its logger restarts) and a logger never sees EOF between
 * two runs of its instance (a write end is held). When pmond is killed, the server goes with
 * it; the instance keeps its write end and the logger its read end, so output still flows;
 * the next pmond's server takes both ends back (pidfd_getfd: the logger's fd 0, the instance's
 * fd 1, or 2 for its stderr's pipe, kept only if they are one pipe) instead of making a new pipe.
 */
import { failedPrecondition } from '../protocol/errors';
import type { ServerReply } from './exec-server';

export interface PipeServer {
  pipe(fields: string[]): Promise<ServerReply>;
  readonly generation: number;
}

/** What the supervisor asks of the pipes (absent: no exec server, no logger mode). */
export interface LogPipeSource {
  /**
   * The key of process id's log pipe, held: already, or taken back from `from` (its logger's
   * fd 0 and its instance's fd 1, both alive), else made. Throws FAILED_PRECONDITION.
   */
  keyFor(key: string, from?: { logger: number; program: number; fd: number }): Promise<string>;
  /** Let go of key's pipe: its logger ends once the instance's copies are closed. */
  release(key: string): Promise<void>;
}

export class LogPipes implements LogPipeSource {
  private readonly held = new Map<string, number>();

  constructor(private readonly server: PipeServer) {}

  async keyFor(key: string, from?: { logger: number; program: number; fd: number }): Promise<string> {
    if (this.held.get(key) === this.server.generation) return key;
    let r: ServerReply | undefined;
    if (from) r = await this.server.pipe(['take', key, String(from.logger), '0', String(from.program), String(from.fd)]);
    if (!r?.ok) r = await this.server.pipe(['make', key]);
    if (!r.ok) throw failedPrecondition(`log pipe: ${r.message || `errno ${r.errno}`}`);
    this.held.set(key, this.server.generation);
    return key;
  }

  async release(key: string): Promise<void> {
    if (!this.held.has(key)) return;
    this.held.delete(key);
    await this.server.pipe(['close', key]).catch(() => undefined);
  }
}
