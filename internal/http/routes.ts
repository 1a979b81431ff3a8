/**
 * The REST resources under /v1, each one protocol method: the table the door routes by and the
 * OpenAPI document is generated from (openapi.ts). `POST /v1/rpc/:method` reaches every method
 * of the protocol table as it is (the CLI's --host uses it); these are the same methods with
 * resource-shaped paths for scripts and the dashboard.
 */
import type { MethodName } from '../protocol';
import { invalidArgument } from '../protocol/errors';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Route {
  verb: HttpMethod;
  /** `/v1/processes/:target`: each `:name` is one path segment, percent-decoded. */
  path: string;
  method: MethodName | 'list_all';
  summary: string;
  /** The method's params from the path's segments, the query and the JSON body. */
  params(seg: Record<string, string>, q: URLSearchParams, body: unknown): unknown;
  /** May stream (NDJSON, or SSE when asked for with Accept: text/event-stream). */
  stream?: boolean;
}

const obj = (b: unknown): Record<string, unknown> => (b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {});
const flag = (q: URLSearchParams, k: string): boolean => {
  const v = q.get(k);
  if (v === null || v === '0' || v === 'false') return false;
  if (v === '' || v === '1' || v === 'true') return true;
  throw invalidArgument(`query ${k}=${v.slice(0, 32)}: must be 1, true, 0 or false`);
};
const int = (q: URLSearchParams, k: string): number | undefined => {
  const v = q.get(k);
  if (v === null) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw invalidArgument(`query ${k}=${v.slice(0, 32)}: must be a whole number`);
  return Number(v);
};

export const ROUTES: readonly Route[] = [
  { verb: 'GET', path: '/v1/info', method: 'info', summary: "pmond's version, paths, counts and health", params: () => ({}) },
  { verb: 'GET', path: '/v1/processes', method: 'list_all', summary: 'every process the key may see: what a table shows (?fields=full: everything, as GET /v1/processes/:id)', params: () => ({}) },
  { verb: 'POST', path: '/v1/processes', method: 'exec', summary: 'create and start a process (body: exec params)', params: (_s, _q, b) => b },
  { verb: 'GET', path: '/v1/processes/:target', method: 'describe', summary: 'one process by id or name', params: (s) => ({ target: s.target }) },
  { verb: 'POST', path: '/v1/processes/:target/start', method: 'restart', summary: 'start it (not counted as a restart)', params: (s) => ({ target: s.target, count: false }) },
  { verb: 'POST', path: '/v1/processes/:target/restart', method: 'restart', summary: 'restart it', params: (s) => ({ target: s.target, count: true }) },
  { verb: 'POST', path: '/v1/processes/:target/stop', method: 'stop', summary: 'stop it (?force=1: SIGKILL at once)', params: (s, q, b) => ({ target: s.target, force: flag(q, 'force') || obj(b).force === true }) },
  { verb: 'POST', path: '/v1/processes/:target/reset', method: 'reset', summary: 'reset its restart count', params: (s) => ({ target: s.target }) },
  { verb: 'DELETE', path: '/v1/processes/:target', method: 'delete', summary: 'delete it (?force=1: a running one too)', params: (s, q) => ({ target: s.target, force: flag(q, 'force') }) },
  { verb: 'GET', path: '/v1/apps', method: 'apps', summary: 'apps with their definitions and instances', params: () => ({}) },
  { verb: 'POST', path: '/v1/apps', method: 'apply', summary: 'apply apps (body: apply params)', params: (_s, _q, b) => b },
  { verb: 'POST', path: '/v1/apps/:target/scale', method: 'scale', summary: 'set its instances (body {count, relative})', params: (s, _q, b) => ({ target: s.target, count: obj(b).count, relative: obj(b).relative === true }) },
  { verb: 'POST', path: '/v1/apps/:target/reload', method: 'upgrade', summary: 'rolling reload (new instances, then the old ones stopped)', params: (s) => ({ target: s.target }) },
  { verb: 'GET', path: '/v1/groups', method: 'group', summary: 'groups and their members', params: () => ({ action: 'ls', groups: [], targets: [] }) },
  { verb: 'GET', path: '/v1/groups/:group', method: 'group', summary: 'one group', params: (s) => ({ action: 'desc', groups: [s.group], targets: [] }) },
  {
    verb: 'GET',
    path: '/v1/stats',
    method: 'stat',
    summary: 'CPU and memory history of every process the key may see (?res=1|5|15|60|240|720 minutes per point, ?target=T repeatable)',
    params: (_s, q) => ({ targets: q.getAll('target'), resolution: int(q, 'res') ?? 1 }),
  },
  {
    verb: 'GET',
    path: '/v1/logs/:target',
    method: 'log',
    summary: 'its log (?lines=N; ?follow=1 streams what is appended)',
    params: (s, q) => ({ target: s.target, lines: int(q, 'lines') ?? 100, follow: flag(q, 'follow'), all: false }),
    stream: true,
  },
];

/** The route of verb and path, with its segments; null when none matches (a 404), or 'verb' when only the verb is wrong. */
export function match(verb: string, pathname: string): { route: Route; seg: Record<string, string> } | 'verb' | null {
  const parts = pathname.split('/');
  let verbOnly = false;
  for (const route of ROUTES) {
    const want = route.path.split('/');
    if (want.length !== parts.length) continue;
    const seg: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < want.length && ok; i++) {
      const w = want[i]!;
      if (w.startsWith(':')) {
        let v: string;
        try {
          v = decodeURIComponent(parts[i]!);
        } catch {
          throw invalidArgument(`path segment ${JSON.stringify(parts[i]!.slice(0, 64))} is not valid percent-encoding`);
        }
        if (v === '') ok = false;
        else seg[w.slice(1)] = v;
      } else ok = w === parts[i];
    }
    if (!ok) continue;
    if (route.verb !== verb) {
      verbOnly = true;
      continue;
    }
    return { route, seg };
  }
  return verbOnly ? 'verb' : null;
}
