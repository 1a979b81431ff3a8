// @ts-check
/**
 * pmond's dashboard: one page, no framework, no build step, served by the HTTP door
 * (internal/http/door.ts) under a CSP that allows only this file as script.
 *
 * - Login: the user's Ed25519 private key (PKCS#8 PEM, `pmon3 key gen`) signs pmond's challenge
 *   here with WebCrypto; the key is dropped after signing and never sent or stored. The token
 *   pmond gives back is kept in memory and in this tab's sessionStorage (never a cookie) and sent
 *   as `Authorization: Bearer` on every request.
 * - The table: /v1/processes every 2 s, sooner after an event of /v1/events. Rows are keyed by
 *   process id and made once; a tick changes only the cells whose text changed and moves only
 *   the rows whose place changed, so a thousand processes cost a thousand comparisons a tick.
 * - Buttons: only the actions /v1/whoami lists for the key's role (pmond checks them again).
 * - Sparklines from /v1/stats when pmond has it (a 404 hides them).
 * - One followed log at a time, at most LOG_LINES lines in the page.
 */
'use strict';

const POLL_MS = 2000;
const EVENT_REFRESH_MS = 300;
const EVENTS_RETRY_MS = 5000;
const LOG_LINES = 2000;
const TOKEN_KEY = 'pmon3.session';
const LOGIN_PREFIX = 'PMON3-LOGIN-V1\n';
/** The per-row actions, in the order their buttons are shown. */
const ROW_ACTIONS = ['start', 'stop', 'restart', 'scale', 'delete'];
/** Statuses with nothing to stop. */
const IDLE = new Set(['stopped', 'failed', 'completed']);
const COLUMNS = ['id', 'name', 'status', 'pid', 'user', 'restarts', 'cpu', 'memory', 'uptime_ms'];
const NUMERIC = new Set(['id', 'pid', 'restarts', 'cpu', 'memory', 'uptime_ms']);
/** Text columns sort as people read them: web-2 before web-10. */
const COLLATOR = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @typedef {{id: number, name: string, status: string, pid: number|null, user: string, uid: number,
 *   restarts: number, cpu: number|null, memory: number|null, uptime_ms: number|null, app?: string,
 *   instance?: number, reason?: string|null}} Proc
 * @typedef {{tr: HTMLTableRowElement, cells: Record<string, HTMLTableCellElement>, shown: Record<string, string>,
 *   p: Proc, buttons: Record<string, HTMLButtonElement>, visible: boolean, spark: Record<string, SVGPathElement>}} Row
 */

const state = {
  /** @type {string|null} */ token: null,
  /** @type {{name: string, uid: number, role: string, user: string, actions: string[]}|null} */ who: null,
  /** Bumped at each login and logout: loops and streams of an older session stop. */
  gen: 0,
  /** @type {Map<number, Row>} */ rows: new Map(),
  sort: { key: 'id', dir: 1 },
  filter: '',
  /** @type {number|null} */ logId: null,
  /** @type {AbortController|null} */ logAbort: null,
  /** @type {AbortController|null} */ eventsAbort: null,
  /** @type {ReturnType<typeof setTimeout>|null} */ pollTimer: null,
  polling: false,
  pollAgain: false,
  /** @type {ReturnType<typeof setTimeout>|null} */ statsTimer: null,
  /** false once /v1/stats answered 404: this pmond has none. */
  statsOn: true,
  /** @type {Map<number, {cpu: (number|null)[], memory: (number|null)[]}>} */ stats: new Map(),
  /** @type {ReturnType<typeof setTimeout>|null} */ expiryTimer: null,
  /** Where the error line's text came from (a later success of the same source clears it). */
  errorFrom: '',
  /** @type {string|null} */ scaleTarget: null,
};

class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// ---------- small helpers

/** @param {Uint8Array} bytes */
function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {string} text base64 or base64url */
function unb64(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/').replace(/\s+/g, ''));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** @param {number|null} n */
function formatBytes(n) {
  if (n === null || n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** @param {number|null} ms */
function formatUptime(ms) {
  if (ms === null || ms === undefined) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** The text a column shows for p. @param {Proc} p @param {string} col */
function cellText(p, col) {
  switch (col) {
    case 'pid':
      return p.pid === null ? '-' : String(p.pid);
    case 'cpu':
      return p.cpu === null || p.cpu === undefined ? '-' : `${p.cpu.toFixed(1)}%`;
    case 'memory':
      return formatBytes(p.memory);
    case 'uptime_ms':
      return p.status === 'running' ? formatUptime(p.uptime_ms) : '-';
    default:
      return String(/** @type {Record<string, unknown>} */ (p)[col] ?? '');
  }
}

// ---------- the error line

/** @param {string} from @param {unknown} e */
function showError(from, e) {
  const msg = e instanceof Error ? e.message : String(e);
  $('error-text').textContent = msg;
  $('error').hidden = false;
  state.errorFrom = from;
}

/** Clear the error line if it came from `from` ('' clears it whatever it came from). @param {string} from */
function clearError(from) {
  if (from && state.errorFrom !== from) return;
  $('error').hidden = true;
  $('error-text').textContent = '';
  state.errorFrom = '';
}

// ---------- requests

/** @param {string} method @param {string} path @param {unknown} [body] @param {AbortSignal} [signal] */
async function request(method, path, body, signal) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  /** @type {RequestInit} */
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (signal) init.signal = signal;
  const res = await fetch(path, init);
  if (!res.ok) {
    const text = await res.text();
    let err = null;
    try {
      err = JSON.parse(text).error;
    } catch {
      /* not pmond's JSON */
    }
    const e = new ApiError(res.status, err?.code ?? 'HTTP', err?.message ?? `${method} ${path}: ${res.status} ${res.statusText}`);
    // The token is gone (expired, or pmond restarted): back to the login form, saying why.
    if (res.status === 403 && state.token && /token is unknown or expired/.test(e.message)) logout(e.message);
    throw e;
  }
  return res;
}

/** @param {string} method @param {string} path @param {unknown} [body] */
async function api(method, path, body) {
  const res = await request(method, path, body);
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/**
 * Read an NDJSON body line by line (heartbeats, empty lines, are skipped).
 * @param {Response} res @param {(v: any) => void} onLine
 */
async function readLines(res, onLine) {
  if (!res.body) return;
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) onLine(JSON.parse(line));
    }
  }
  if (buf.trim()) onLine(JSON.parse(buf));
}

// ---------- login and logout

/** The DER bytes of a PKCS#8 PEM. @param {string} pem */
function pemToDer(pem) {
  const text = pem.trim();
  if (text.startsWith('pmon3-ed25519 ')) throw new Error('that is the public key; the dashboard needs the private key file pmon3 key gen wrote');
  const m = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(text);
  if (!m) throw new Error('not a private key: paste the whole file, from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----');
  return unb64(/** @type {string} */ (m[1]));
}

/** Sign pmond's challenge with the key and trade it for a token. @param {string} pem */
async function login(pem) {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new Error('this page is not a secure context (use https, or http on 127.0.0.1 or localhost): the browser offers no WebCrypto here');
  let key;
  try {
    // Extractable only so that its public half can be read (the jwk's x); nothing is exported anywhere.
    key = await subtle.importKey('pkcs8', pemToDer(pem), { name: 'Ed25519' }, true, ['sign']);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('not a private key')) throw e;
    if (e instanceof Error && e.message.startsWith('that is the public key')) throw e;
    throw new Error(`the key is not an Ed25519 private key this browser can read (${e instanceof Error ? e.message : e})`);
  }
  const jwk = await subtle.exportKey('jwk', key);
  const raw = unb64(jwk.x ?? '');
  jwk.d = '';
  const keyId = b64url(new Uint8Array(await subtle.digest('SHA-256', raw))).slice(0, 16);
  const ch = await api('POST', '/v1/auth/challenge');
  const sig = new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, new TextEncoder().encode(LOGIN_PREFIX + ch.challenge)));
  key = null;
  const t = await api('POST', '/v1/auth/login', { key: keyId, challenge: ch.challenge, signature: b64url(sig) });
  const session = { token: t.token, expires_at: t.expires_at, user: t.user };
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(session));
  await begin(session);
}

/** Start a session with a token: whoami, then the table and the streams. @param {{token: string, expires_at: string, user: string}} s */
async function begin(s) {
  state.token = s.token;
  const who = await api('GET', '/v1/whoami');
  state.gen++;
  state.who = { name: who.name, uid: who.uid, role: who.role, user: s.user ?? '', actions: Array.isArray(who.actions) ? who.actions : [] };
  $('who').textContent = `${who.name} · ${who.role}${s.user ? ` · as ${s.user}` : ''}`;
  $('who').hidden = false;
  $('logout').hidden = false;
  $('login').hidden = true;
  $('app').hidden = false;
  $('actions-head').hidden = state.who.actions.length === 0;
  document.body.dataset.role = who.role;
  const left = Date.parse(s.expires_at) - Date.now();
  if (left > 0) state.expiryTimer = setTimeout(() => logout('the login has expired: log in again'), Math.min(left, 2 ** 31 - 1));
  clearError('');
  state.statsOn = true;
  void poll();
  void events(state.gen);
  void pollStats(state.gen);
}

/** Forget the token and everything shown with it. @param {string} [why] */
function logout(why) {
  // pmond forgets the token too (a copy of it is of no use after this); a failure changes nothing here.
  if (state.token) void fetch('/v1/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${state.token}` } }).catch(() => undefined);
  state.gen++;
  state.token = null;
  state.who = null;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const t of [state.pollTimer, state.statsTimer, state.expiryTimer]) if (t) clearTimeout(t);
  state.pollTimer = state.statsTimer = state.expiryTimer = null;
  state.eventsAbort?.abort();
  state.eventsAbort = null;
  closeLog();
  state.rows.clear();
  state.stats.clear();
  /** @type {HTMLTableElement} */ ($('procs')).tBodies[0]?.replaceChildren();
  $('count').textContent = '';
  $('who').hidden = true;
  $('logout').hidden = true;
  $('app').hidden = true;
  $('login').hidden = false;
  delete document.body.dataset.role;
  if (why) showError('session', why);
  else clearError('');
}

// ---------- the table

/** @param {Proc} p */
function makeRow(p) {
  const tr = document.createElement('tr');
  tr.dataset.id = String(p.id);
  /** @type {Record<string, HTMLTableCellElement>} */
  const cells = {};
  for (const col of COLUMNS) {
    const td = document.createElement('td');
    td.dataset.col = col;
    if (col === 'name') {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'open-log';
      b.dataset.log = String(p.id);
      b.title = 'follow its log';
      td.append(b);
    } else if (col === 'cpu' || col === 'memory') {
      const v = document.createElement('span');
      v.className = 'v';
      td.append(v);
    }
    cells[col] = td;
    tr.append(td);
  }
  /** @type {Record<string, HTMLButtonElement>} */
  const buttons = {};
  const actions = state.who?.actions ?? [];
  if (actions.length) {
    const td = document.createElement('td');
    td.dataset.col = 'actions';
    for (const a of ROW_ACTIONS) {
      if (!actions.includes(a)) continue;
      if (a === 'scale' && !p.app) continue;
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.action = a;
      b.textContent = a;
      buttons[a] = b;
      td.append(b);
    }
    cells.actions = td;
    tr.append(td);
  }
  /** @type {Row} */
  const row = { tr, cells, shown: {}, p, buttons, visible: true, spark: {} };
  return row;
}

/** Set the cells of row whose text changed. @param {Row} row @param {Proc} p */
function updateRow(row, p) {
  row.p = p;
  for (const col of COLUMNS) {
    const text = cellText(p, col);
    if (row.shown[col] === text) continue;
    row.shown[col] = text;
    const td = /** @type {HTMLTableCellElement} */ (row.cells[col]);
    const target = td.firstElementChild ?? td;
    target.textContent = text;
    if (col === 'status') {
      td.dataset.status = p.status;
      row.tr.dataset.status = p.status;
    }
  }
  const reason = p.reason ?? '';
  if (row.shown.reason !== reason) {
    row.shown.reason = reason;
    /** @type {HTMLTableCellElement} */ (row.cells.status).title = reason;
  }
  updateButtons(row);
}

/** start has nothing to do on a running process, stop nothing on an idle one (pmond would say so). @param {Row} row */
function updateButtons(row) {
  const start = row.buttons.start;
  const running = row.p.status === 'running';
  if (start && start.disabled !== running) start.disabled = running;
  const stop = row.buttons.stop;
  const idle = IDLE.has(row.p.status);
  if (stop && stop.disabled !== idle) stop.disabled = idle;
}

/** @param {Proc} p */
function matches(p) {
  const f = state.filter;
  if (!f) return true;
  return p.name.toLowerCase().includes(f) || p.status.toLowerCase().includes(f) || p.user.toLowerCase().includes(f) || String(p.id) === f;
}

/** @param {Row} a @param {Row} b */
function compare(a, b) {
  const k = state.sort.key;
  const x = /** @type {Record<string, unknown>} */ (a.p)[k];
  const y = /** @type {Record<string, unknown>} */ (b.p)[k];
  let c;
  if (NUMERIC.has(k)) {
    // Nulls (no pid, no cpu yet) last whichever way.
    if (x === null || x === undefined) c = y === null || y === undefined ? 0 : 1;
    else if (y === null || y === undefined) c = -1;
    else c = state.sort.dir * (Number(x) - Number(y));
  } else {
    c = state.sort.dir * COLLATOR.compare(String(x ?? ''), String(y ?? ''));
  }
  return c || a.p.id - b.p.id;
}

/** Filter and order the rows: hidden flags changed only where they change, rows moved only where out of place. */
function arrange() {
  const tbody = /** @type {HTMLTableSectionElement} */ (/** @type {HTMLTableElement} */ ($('procs')).tBodies[0]);
  let shown = 0;
  for (const row of state.rows.values()) {
    const v = matches(row.p);
    if (v !== row.visible) {
      row.visible = v;
      row.tr.hidden = !v;
    }
    if (v) shown++;
  }
  const sorted = [...state.rows.values()].sort(compare);
  let cur = tbody.firstElementChild;
  for (const row of sorted) {
    if (row.tr === cur) cur = cur.nextElementSibling;
    else tbody.insertBefore(row.tr, cur);
  }
  const total = state.rows.size;
  $('count').textContent = shown === total ? `${total} processes` : `${shown} of ${total} processes`;
}

/** A new list from pmond: rows made for new ids, updated for known ones, removed for gone ones. @param {Proc[]} list */
function applyProcesses(list) {
  const seen = new Set();
  for (const p of list) {
    seen.add(p.id);
    let row = state.rows.get(p.id);
    if (!row) {
      row = makeRow(p);
      state.rows.set(p.id, row);
      if (state.stats.size) drawSparks(row);
    }
    updateRow(row, p);
  }
  for (const [id, row] of state.rows) {
    if (seen.has(id)) continue;
    row.tr.remove();
    state.rows.delete(id);
  }
  arrange();
}

/** Fetch the list now (or right after the fetch under way), then every POLL_MS. */
async function poll() {
  if (state.polling) {
    state.pollAgain = true;
    return;
  }
  const gen = state.gen;
  if (state.pollTimer) clearTimeout(state.pollTimer);
  state.pollTimer = null;
  state.polling = true;
  try {
    const v = await api('GET', '/v1/processes');
    if (gen !== state.gen) return;
    applyProcesses(v.processes);
    clearError('poll');
  } catch (e) {
    if (gen === state.gen) showError('poll', e);
  } finally {
    state.polling = false;
  }
  if (gen !== state.gen) return;
  const again = state.pollAgain;
  state.pollAgain = false;
  schedulePoll(again ? 0 : POLL_MS);
}

/** @param {number} ms */
function schedulePoll(ms) {
  if (state.polling) {
    if (ms < POLL_MS) state.pollAgain = true;
    return;
  }
  if (state.pollTimer) clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(() => void poll(), ms);
}

/** /v1/events: a state change shows at once in its row, and the list is fetched again soon. @param {number} gen */
async function events(gen) {
  while (gen === state.gen) {
    const ac = new AbortController();
    state.eventsAbort = ac;
    let wait = EVENTS_RETRY_MS;
    try {
      const res = await request('GET', '/v1/events', undefined, ac.signal);
      await readLines(res, (e) => {
        if (gen !== state.gen || !e || typeof e !== 'object' || !e.process) return;
        const row = state.rows.get(e.process.id);
        if (row) {
          const p = { ...row.p };
          for (const k of ['status', 'pid', 'restarts', 'reason']) if (k in e.process) /** @type {Record<string, unknown>} */ (p)[k] = e.process[k];
          updateRow(row, p);
        }
        schedulePoll(EVENT_REFRESH_MS);
      });
    } catch (e) {
      // Too many streams open, or none allowed: the 2 s poll alone keeps the table current.
      if (e instanceof ApiError && (e.status === 503 || e.status === 403)) wait = 30_000;
    }
    if (gen !== state.gen) return;
    await new Promise((r) => setTimeout(r, wait));
  }
}

// ---------- actions

/** @param {string} action @param {Row} row @param {HTMLButtonElement} button */
async function act(action, row, button) {
  const p = row.p;
  if (action === 'scale') return openScale(p);
  if (action === 'delete' && !confirm(`Delete ${p.name} (id ${p.id})? Its process is stopped and its row removed.`)) return;
  button.disabled = true;
  try {
    if (action === 'delete') await api('DELETE', `/v1/processes/${p.id}?force=1`);
    else await api('POST', `/v1/processes/${p.id}/${action}`);
    clearError('action');
  } catch (e) {
    showError('action', e);
  } finally {
    // Enabled again as its row's status says (an event may have changed it meanwhile).
    button.disabled = false;
    updateButtons(row);
    schedulePoll(0);
  }
}

/** The selector of p's app: `user/app` for another user's. @param {Proc} p */
function appTarget(p) {
  const app = /** @type {string} */ (p.app);
  return state.who && p.uid !== state.who.uid ? `${p.user}/${app}` : app;
}

/** @param {Proc} p */
function openScale(p) {
  state.scaleTarget = appTarget(p);
  let n = 0;
  for (const r of state.rows.values()) if (r.p.app === p.app && r.p.uid === p.uid) n++;
  $('scale-app').textContent = state.scaleTarget;
  /** @type {HTMLInputElement} */ ($('scale-count')).value = String(n || 1);
  /** @type {HTMLDialogElement} */ ($('scale-dialog')).showModal();
}

async function submitScale() {
  const target = state.scaleTarget;
  const count = Number(/** @type {HTMLInputElement} */ ($('scale-count')).value);
  /** @type {HTMLDialogElement} */ ($('scale-dialog')).close();
  if (!target || !Number.isInteger(count)) return;
  try {
    await api('POST', `/v1/apps/${encodeURIComponent(target)}/scale`, { count, relative: false });
    clearError('action');
  } catch (e) {
    showError('action', e);
  } finally {
    schedulePoll(0);
  }
}

// ---------- the log pane

function closeLog() {
  state.logAbort?.abort();
  state.logAbort = null;
  if (state.logId !== null) state.rows.get(state.logId)?.tr.classList.remove('selected');
  state.logId = null;
  $('log').replaceChildren();
  $('logs').hidden = true;
}

/** Follow process id's log: its last 200 lines, then what is appended. @param {number} id */
async function openLog(id) {
  closeLog();
  const row = state.rows.get(id);
  if (!row) return;
  row.tr.classList.add('selected');
  state.logId = id;
  const ac = new AbortController();
  state.logAbort = ac;
  const gen = state.gen;
  const pre = $('log');
  $('log-title').textContent = `${row.p.name} (id ${id})`;
  $('log-state').textContent = 'following';
  $('logs').hidden = false;
  /** @type {HTMLElement|null} the last, unfinished line */
  let open = null;
  /** @param {string} text */
  const append = (text) => {
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    const parts = text.split('\n');
    const frag = document.createDocumentFragment();
    for (let i = 0; i < parts.length; i++) {
      const part = /** @type {string} */ (parts[i]);
      const last = i === parts.length - 1;
      if (open) open.textContent += part;
      else if (!(last && part === '')) {
        open = document.createElement('div');
        open.textContent = part;
        frag.append(open);
      }
      // A newline finishes the line: what follows it starts a new one.
      if (!last) open = null;
    }
    pre.append(frag);
    let extra = pre.childElementCount - LOG_LINES;
    while (extra-- > 0) pre.firstElementChild?.remove();
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  };
  try {
    const res = await request('GET', `/v1/logs/${id}?lines=200&follow=1`, undefined, ac.signal);
    let ended = 'ended';
    await readLines(res, (v) => {
      if (ac.signal.aborted) return;
      if (v.event === 'data' && typeof v.data === 'string') append(v.data);
      else if ('ok' in v) {
        if (v.ok === false) {
          ended = 'ended with an error';
          showError('log', v.error?.message ?? 'the log stream failed');
        }
        // A log that does not stream answers once, with its text.
        else if (typeof v.result?.text === 'string') append(v.result.text);
      } else if (typeof v.text === 'string') append(v.text);
    });
    if (!ac.signal.aborted && gen === state.gen) $('log-state').textContent = ended;
  } catch (e) {
    if (ac.signal.aborted || gen !== state.gen) return;
    $('log-state').textContent = 'stopped';
    showError('log', e);
  }
}

// ---------- sparklines

const SVG = 'http://www.w3.org/2000/svg';
const SPARK_W = 60;
const SPARK_H = 16;

/** The path of a series (nulls are gaps), scaled to its own maximum. @param {(number|null)[]} s */
function sparkPath(s) {
  let max = 0;
  for (const v of s) if (v !== null && v > max) max = v;
  if (max <= 0) max = 1;
  const step = s.length > 1 ? SPARK_W / (s.length - 1) : 0;
  let d = '';
  let pen = false;
  s.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (SPARK_H - 1 - (v / max) * (SPARK_H - 2)).toFixed(1);
    d += `${pen ? 'L' : 'M'}${x} ${y}`;
    pen = true;
  });
  return d;
}

/** @param {Row} row */
function drawSparks(row) {
  const s = state.stats.get(row.p.id);
  for (const col of ['cpu', 'memory']) {
    const d = s ? sparkPath(/** @type {(number|null)[]} */ (s[/** @type {'cpu'|'memory'} */ (col)] ?? [])) : '';
    let path = row.spark[col];
    if (!path) {
      if (!d) continue;
      const svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('class', 'spark');
      svg.setAttribute('viewBox', `0 0 ${SPARK_W} ${SPARK_H}`);
      svg.setAttribute('preserveAspectRatio', 'none');
      svg.setAttribute('aria-hidden', 'true');
      path = document.createElementNS(SVG, 'path');
      svg.append(path);
      row.cells[col]?.append(svg);
      row.spark[col] = path;
    }
    if (path.getAttribute('d') !== d) path.setAttribute('d', d);
  }
}

/** /v1/stats at the chosen resolution, again every quarter of a point (at least 10 s); a 404 hides the sparklines. @param {number} gen */
async function pollStats(gen) {
  if (state.statsTimer) clearTimeout(state.statsTimer);
  state.statsTimer = null;
  if (!state.statsOn || gen !== state.gen) return;
  const res = Number(/** @type {HTMLSelectElement} */ ($('res')).value) || 1;
  try {
    const v = await api('GET', `/v1/stats?res=${res}`);
    if (gen !== state.gen) return;
    state.stats.clear();
    for (const s of v.series ?? []) state.stats.set(s.id, { cpu: s.cpu ?? [], memory: s.memory ?? [] });
    for (const row of state.rows.values()) drawSparks(row);
    $('procs').classList.remove('no-stats');
    $('res-label').hidden = false;
  } catch (e) {
    if (gen !== state.gen) return;
    if (e instanceof ApiError && e.status === 404) {
      // This pmond has no /v1/stats: no sparklines, and no more asking.
      state.statsOn = false;
      $('procs').classList.add('no-stats');
      $('res-label').hidden = true;
      return;
    }
  }
  state.statsTimer = setTimeout(() => void pollStats(gen), Math.max(10_000, (res * 60_000) / 4));
}

// ---------- wiring

function wire() {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const area = /** @type {HTMLTextAreaElement} */ ($('pem'));
    const file = /** @type {HTMLInputElement} */ ($('pem-file'));
    const button = /** @type {HTMLButtonElement} */ ($('login-button'));
    button.disabled = true;
    void (async () => {
      try {
        const f = file.files?.[0];
        const pem = area.value.trim() ? area.value : f ? await f.text() : '';
        if (!pem) throw new Error('paste the private key, or pick its file');
        await login(pem);
      } catch (e) {
        showError('login', e);
      } finally {
        // The key is dropped whatever happened: nothing of it stays in the page.
        area.value = '';
        file.value = '';
        button.disabled = false;
      }
    })();
  });
  $('logout').addEventListener('click', () => logout());
  $('error-close').addEventListener('click', () => clearError(''));
  $('filter').addEventListener('input', (ev) => {
    state.filter = /** @type {HTMLInputElement} */ (ev.target).value.trim().toLowerCase();
    arrange();
  });
  for (const th of document.querySelectorAll('#procs th[data-sort]')) {
    th.addEventListener('click', () => {
      const key = /** @type {HTMLElement} */ (th).dataset.sort ?? 'id';
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      for (const h of document.querySelectorAll('#procs th[data-sort]')) h.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', state.sort.dir > 0 ? 'ascending' : 'descending');
      arrange();
    });
  }
  const tbody = /** @type {HTMLTableSectionElement} */ (/** @type {HTMLTableElement} */ ($('procs')).tBodies[0]);
  tbody.addEventListener('click', (ev) => {
    const el = /** @type {HTMLElement} */ (ev.target);
    const tr = el.closest('tr');
    const row = tr ? state.rows.get(Number(tr.dataset.id)) : undefined;
    if (!row) return;
    const button = /** @type {HTMLButtonElement|null} */ (el.closest('button[data-action]'));
    if (button) {
      void act(button.dataset.action ?? '', row, button);
      return;
    }
    if (el.closest('button[data-log]')) void openLog(row.p.id);
  });
  $('log-close').addEventListener('click', () => closeLog());
  $('res').addEventListener('change', () => {
    if (state.token) void pollStats(state.gen);
  });
  $('scale-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    void submitScale();
  });
  $('scale-cancel').addEventListener('click', () => /** @type {HTMLDialogElement} */ ($('scale-dialog')).close());
}

function main() {
  wire();
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (!saved) return;
  let s;
  try {
    s = JSON.parse(saved);
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
    return;
  }
  begin(s).catch((e) => {
    logout();
    showError('session', e);
  });
}

main();
