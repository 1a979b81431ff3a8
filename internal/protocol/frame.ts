/**
 * Framing for the pmond socket: each frame is a 4-byte big-endian length
 * followed by that many bytes of UTF-8 JSON. A frame longer than the limit is
 * a protocol error: the reader stops and reports it, it never buffers it.
 */
import { invalidArgument } from './errors';

/** Default cap on one request frame's payload, in bytes (1 MiB). */
export const DEFAULT_MAX_FRAME = 1024 * 1024;

/**
 * Cap on one reply frame (64 MiB). Replies come from pmond, so this only
 * bounds what a client buffers: `ls --json` of 1000 processes is ~0.4 MiB,
 * so this leaves room for over 100 000.
 */
export const MAX_REPLY_FRAME = 64 * 1024 * 1024;

/** Encode one value as a frame. */
export function encodeFrame(value: unknown, maxFrame = DEFAULT_MAX_FRAME): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  if (body.length > maxFrame) throw invalidArgument(`frame of ${body.length} bytes exceeds the ${maxFrame}-byte limit`);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Incremental decoder. push() bytes as they arrive; it returns the parsed
 * values of every complete frame, and throws a PmonError (INVALID_ARGUMENT)
 * on an oversized frame or invalid JSON, after which the stream is unusable.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private broken = false;

  constructor(private readonly maxFrame = DEFAULT_MAX_FRAME) {}

  /** Feed bytes; get back every complete frame's JSON value. */
  push(data: Buffer): unknown[] {
    if (this.broken) return [];
    this.chunks.push(data);
    this.buffered += data.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      this.chunks = [all];
      const len = all.readUInt32BE(0);
      if (len > this.maxFrame) {
        this.broken = true;
        throw invalidArgument(`frame of ${len} bytes exceeds the ${this.maxFrame}-byte limit`);
      }
      if (all.length < 4 + len) break;
      const body = all.subarray(4, 4 + len);
      const rest = all.subarray(4 + len);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
      try {
        out.push(JSON.parse(body.toString('utf8')));
      } catch {
        this.broken = true;
        throw invalidArgument('frame is not valid JSON');
      }
    }
    return out;
  }

  /** Bytes received but not yet part of a complete frame. */
  pending(): number {
    return this.buffered;
  }
}

/**
 * The admin door of a root pmond, beside socket_path: mode 0600 (0660 with admin_group), so
 * only root and admin_group can connect, and no other user's connect flood fills its backlog.
 * Same requests, same kernel identity checks: it grants nothing the main socket does not.
 */
export function adminSocketPath(socketPath: string): string {
  return `${socketPath}.admin`;
}
