/**
 * Meproc's endpoints (GET/POST/PUT/DELETE /proc, GET /proc/output), answered as Meproc does
 * ({code, msg, data}). Not built yet: null lets the door answer 404.
 */
import type { DoorReply, DoorRequest } from './door';

export async function meprocHandler(_r: DoorRequest): Promise<DoorReply | null> {
  return null;
}
