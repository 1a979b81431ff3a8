/**
 * An app's resource limits (`rlimits:`), pure: names, values, and what pmond itself may give.
 * The exec helper sets them as root, before it drops privileges, so an admin's app can get a
 * hard limit above pmond's own; anyone else's stay within pmond's hard limits (else a user
 * could lift the nproc or memlock ceiling an admin set for pmond's service).
 */
import { invalidArgument, permissionDenied } from '../protocol/errors';

/** The limits an app may set, with their setrlimit(2) resource numbers on Linux (asm-generic). */
export const RLIMITS = { cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, nproc: 6, nofile: 7, memlock: 8, as: 9 } as const;
export type RlimitName = keyof typeof RLIMITS;

/** -1: unlimited (RLIM_INFINITY). */
export type Rlimit = { soft: number; hard: number };
export type Rlimits = Partial<Record<RlimitName, Rlimit>>;

/** The names in /proc/PID/limits. */
const PROC_NAMES: Record<RlimitName, string> = {
  cpu: 'Max cpu time',
  fsize: 'Max file size',
  data: 'Max data size',
  stack: 'Max stack size',
  core: 'Max core file size',
  nproc: 'Max processes',
  nofile: 'Max open files',
  memlock: 'Max locked memory',
  as: 'Max address space',
};

const MAX = 2 ** 53 - 1;

/** One value as written: a number, "unlimited", or [soft, hard] of those. */
export type RlimitInput = number | string | [number | string, number | string];

function value(name: string, v: number | string): number {
  if (v === 'unlimited' || v === 'infinity' || v === -1) return -1;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= MAX) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  throw invalidArgument(`rlimits: ${name}: ${JSON.stringify(String(v).slice(0, 40))} is not a number or "unlimited"`);
}

const above = (a: number, b: number): boolean => (a === -1 ? b !== -1 : b !== -1 && a > b);

/** rlimits as written, checked: known names only, soft at most hard. Throws invalidArgument in one line. */
export function parseRlimits(input: Record<string, RlimitInput>): Rlimits {
  const out: Rlimits = {};
  for (const [name, raw] of Object.entries(input)) {
    if (!(name in RLIMITS)) throw invalidArgument(`rlimits: unknown limit "${name.slice(0, 40)}" (${Object.keys(RLIMITS).join(', ')})`);
    const [s, h] = Array.isArray(raw) ? [value(name, raw[0]), value(name, raw[1])] : [value(name, raw), value(name, raw)];
    if (above(s, h)) throw invalidArgument(`rlimits: ${name}: soft ${s === -1 ? 'unlimited' : s} is above hard ${h === -1 ? 'unlimited' : h}`);
    out[name as RlimitName] = { soft: s, hard: h };
  }
  return out;
}

/** A process's hard limits as /proc/PID/limits gives them (text), -1 for unlimited. */
export function hardLimits(procLimits: string): Partial<Record<RlimitName, number>> {
  const out: Partial<Record<RlimitName, number>> = {};
  for (const [name, label] of Object.entries(PROC_NAMES) as Array<[RlimitName, string]>) {
    const line = procLimits.split('\n').find((l) => l.startsWith(label));
    const hard = line?.slice(label.length).trim().split(/\s+/)[1];
    if (hard !== undefined) out[name] = hard === 'unlimited' ? -1 : Number(hard);
  }
  return out;
}

/** For a caller who is not an admin: every hard (and soft) limit within pmond's own hard limits; else permissionDenied naming the first. */
export function checkWithin(limits: Rlimits, own: Partial<Record<RlimitName, number>>): void {
  for (const [name, l] of Object.entries(limits) as Array<[RlimitName, Rlimit]>) {
    const ceiling = own[name];
    // Unknown (no /proc): refused, not waved through.
    if (ceiling === undefined) throw permissionDenied(`rlimits: ${name}: pmond cannot read its own limit: only an admin may set it`);
    if (above(l.hard, ceiling)) {
      throw permissionDenied(`rlimits: ${name} ${l.hard === -1 ? 'unlimited' : l.hard} is above pmond's own hard limit (${ceiling === -1 ? 'unlimited' : ceiling}): only an admin may raise it`);
    }
  }
}

/** The helper's words for them: resource number, soft, hard (-1 unlimited), in name order. */
export function rlimitWords(limits: Rlimits | undefined): string[] {
  if (!limits) return [];
  return (Object.keys(limits) as RlimitName[]).sort().flatMap((n) => [String(RLIMITS[n]), String(limits[n]!.soft), String(limits[n]!.hard)]);
}
