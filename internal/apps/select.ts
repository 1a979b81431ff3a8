/**
 * Selectors: what a command acts on, written one way for every command.
 *
 *   all        every instance the caller may see (its own; everyone's for root and admin_group)
 *   7          the instance with id 7 (ids are digits; names never are)
 *   web        every instance of the caller's app "web" (one, for a single-instance app)
 *   web:2      instance 2 of "web"
 *   ann/web    ann's app "web" (ann/web:2 her instance 2): for root and admin_group
 *   @backend   every instance of every app in group "backend" the caller may see
 *
 * ":" and "@" and "/" are never part of a name (NAME_RE), so a selector reads one way only.
 * Pure: parse, then resolve against the rows the caller may see; the caller checks rights.
 */
import { invalidArgument, notFound } from '../protocol/errors';
import { NAME_RE, MAX_NAME } from '../protocol/methods';
import { MAX_INSTANCES } from './model';

export type Selector =
  | { kind: 'all' }
  | { kind: 'id'; id: number }
  | { kind: 'app'; user?: string; app: string; instance?: number }
  | { kind: 'group'; group: string };

/** The longest selector text accepted (a user name, "/", a name, ":", an index). */
const MAX_SELECTOR = 32 + 1 + MAX_NAME + 1 + 4;
const USER_RE = /^[A-Za-z_][A-Za-z0-9._-]{0,31}\$?$/;

function validName(what: string, s: string, text: string): string {
  if (!s || s.length > MAX_NAME || !NAME_RE.test(s) || s.includes('..') || /^\d+$/.test(s)) {
    throw invalidArgument(`selector ${JSON.stringify(text)}: ${what} ${JSON.stringify(s)} is not a valid name`);
  }
  return s;
}

/** Parse a selector; INVALID_ARGUMENT naming what is wrong with it. */
export function parseSelector(text: string): Selector {
  if (typeof text !== 'string' || text.length === 0) throw invalidArgument('selector must not be empty');
  if (text.length > MAX_SELECTOR) throw invalidArgument(`selector is longer than ${MAX_SELECTOR} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) throw invalidArgument(`selector ${JSON.stringify(text)} holds a control character`);
  if (text === 'all') return { kind: 'all' };
  if (/^\d+$/.test(text)) {
    const id = Number(text);
    if (!Number.isSafeInteger(id) || id < 1 || id > 2 ** 31 - 1) throw invalidArgument(`selector ${JSON.stringify(text)}: ids are 1 to ${2 ** 31 - 1}`);
    return { kind: 'id', id };
  }
  if (text.startsWith('@')) return { kind: 'group', group: validName('group', text.slice(1), text) };
  let rest = text;
  let user: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    user = rest.slice(0, slash);
    if (!USER_RE.test(user)) throw invalidArgument(`selector ${JSON.stringify(text)}: ${JSON.stringify(user)} is not a user name`);
    rest = rest.slice(slash + 1);
  }
  let instance: number | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    const n = rest.slice(colon + 1);
    if (!/^\d{1,4}$/.test(n) || Number(n) >= MAX_INSTANCES) {
      throw invalidArgument(`selector ${JSON.stringify(text)}: the instance after ":" is a number from 0 to ${MAX_INSTANCES - 1}`);
    }
    instance = Number(n);
    rest = rest.slice(0, colon);
  }
  const app = validName('app', rest, text);
  return { kind: 'app', ...(user !== undefined ? { user } : {}), app, ...(instance !== undefined ? { instance } : {}) };
}

/** The selector as it is written (parseSelector(formatSelector(s)) equals s). */
export function formatSelector(s: Selector): string {
  switch (s.kind) {
    case 'all':
      return 'all';
    case 'id':
      return String(s.id);
    case 'group':
      return `@${s.group}`;
    case 'app':
      return `${s.user !== undefined ? `${s.user}/` : ''}${s.app}${s.instance !== undefined ? `:${s.instance}` : ''}`;
  }
}

/** What resolving needs of an instance row (only rows the caller may see are passed). */
export interface Selectable {
  id: number;
  uid: number;
  user: string;
  app: string;
  instance: number;
  groups: readonly string[];
}

/** Who asks. */
export interface Asker {
  uid: number;
  admin: boolean;
}

/**
 * The rows a selector names, in id order. A bare app name is the asker's own app; for an admin
 * with none of that name, the only owner's (several owners: INVALID_ARGUMENT naming them, say
 * user/name). Nothing matched: NOT_FOUND, worded the same whether the rows are absent or not
 * the asker's to see. `all` and a group may match nothing: an empty list, not an error.
 */
export function resolveSelector<T extends Selectable>(sel: Selector, rows: readonly T[], asker: Asker): T[] {
  const visible = rows.filter((r) => asker.admin || r.uid === asker.uid);
  const byId = (a: T, b: T): number => a.id - b.id;
  const text = formatSelector(sel);
  switch (sel.kind) {
    case 'all':
      return [...visible].sort(byId);
    case 'group':
      return visible.filter((r) => r.groups.includes(sel.group)).sort(byId);
    case 'id': {
      const r = visible.find((x) => x.id === sel.id);
      if (!r) throw notFound(`process "${text}" not found`);
      return [r];
    }
    case 'app': {
      let mine = visible.filter((r) => r.app === sel.app && (sel.user !== undefined ? r.user === sel.user : r.uid === asker.uid));
      if (mine.length === 0 && sel.user === undefined && asker.admin) {
        mine = visible.filter((r) => r.app === sel.app);
        const owners = [...new Set(mine.map((r) => r.user))].sort();
        if (owners.length > 1) {
          throw invalidArgument(`"${text}" names processes of several users (${owners.map((u) => `${u}/${sel.app}`).join(', ')}); say which, as user/name or by id`);
        }
      }
      if (sel.instance !== undefined) mine = mine.filter((r) => r.instance === sel.instance);
      if (mine.length === 0) throw notFound(`process "${text}" not found`);
      return mine.sort(byId);
    }
  }
}
