/** Waiting on conditions with deadlines: the only way tests here wait. */

/** Poll cond every `every` ms until it returns a truthy value or `ms` pass; then throw naming `what`. */
export async function waitFor<T>(what: string, cond: () => T | Promise<T>, ms = 10_000, every = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Whether a pid is alive (not a zombie). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = require('node:fs').readFileSync(`/proc/${pid}/stat`, 'utf8') as string;
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
