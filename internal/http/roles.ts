/**
 * What each HTTP role may call, by protocol method: one table, checked before the method runs.
 * Past the role, the caller is the key's Unix user with that user's rights on the Unix socket
 * (the supervisor's own checks: a key of alice's never touches bob's processes).
 */
import type { HttpRole } from '../config/config';
import type { MethodName } from '../protocol';

const VIEWER: readonly MethodName[] = ['ping', 'list', 'table', 'describe', 'info', 'log', 'logs', 'apps', 'dgraph', 'stat', 'events'];
const OPERATOR: readonly MethodName[] = [...VIEWER, 'stop', 'restart', 'reset', 'act', 'run', 'trystart', 'scale', 'upgrade', 'log_rotate', 'kill', 'init', 'input'];

const ALLOWED: Record<HttpRole, ReadonlySet<string> | 'all'> = {
  viewer: new Set(VIEWER),
  operator: new Set(OPERATOR),
  admin: 'all',
};

/** Whether role may call method (`group` reads only for viewers: its ls and desc). */
export function roleAllows(role: HttpRole, method: string, params?: unknown): boolean {
  const a = ALLOWED[role];
  if (a === 'all') return true;
  if (method === 'act') {
    // delete is admin-only whichever method reaches it.
    const action = (params as { action?: unknown } | undefined)?.action;
    return a.has('act') && action !== 'delete';
  }
  if (method === 'group') {
    const action = (params as { action?: unknown } | undefined)?.action;
    return action === 'ls' || action === 'desc' || (role === 'operator' && (action === 'assign' || action === 'remove'));
  }
  return a.has(method);
}

/** The actions a role's buttons may do (the dashboard shows only these). */
export function roleActions(role: HttpRole): string[] {
  return role === 'viewer' ? [] : ['start', 'stop', 'restart', 'scale', ...(role === 'admin' ? ['delete'] : [])];
}
