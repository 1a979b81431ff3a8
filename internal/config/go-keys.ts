/**
 * The Go pmon3's configuration keys, in one place: which of ours each means, or why it does
 * not apply here. Pure: a parsed YAML mapping in, our keys and the notices pmond logs at
 * start out.
 *
 * - A Go key that means one of ours (`logs.directory`, `data.directory`,
 *   `event_handling.*`) becomes ours. When both spellings are set, ours wins; if their values
 *   differ, a notice says so.
 * - A Go key with no meaning here (`wait`, `permissions`, `message_queue`, ...) is accepted
 *   and dropped, with one notice per top-level key naming what was set in it.
 * - A key set to null (`process_restart:` with nothing after it, as in the Go sample
 *   config.yml) is not set, as in the Go pmon3: no value, no notice.
 * - A key under a Go section that the Go pmon3 does not know either (`logs.directroy`) is an
 *   error, as an unknown key of ours is.
 * - Keys both pmon3s spell alike (`log_level`, `handle_interrupts`, `process_monitor_interval`,
 *   `flap_detection`) are ours already and pass through.
 */

/** What fromGoConfig made of a mapping. */
export interface GoConfigResult {
  /** The mapping with every Go key replaced by ours or dropped. */
  mapped: Record<string, unknown>;
  /** One line each, for pmond's log at start ("config: ..."). */
  notices: string[];
  /** Our key → the Go key its value came from (for error messages). */
  origin: Record<string, string>;
}

/** A Go key that fromGoConfig refuses: unknown in both pmon3s, or of the wrong shape. */
export class GoKeyError extends Error {
  constructor(
    /** The key, dotted (`logs.directroy`). */
    readonly key: string,
    /** What is wrong, or null for an unknown key. */
    readonly problem: string | null,
  ) {
    super(problem === null ? `unknown key "${key}"` : `key "${key}": ${problem}`);
  }
}

/** Go key (dotted) → our key, for keys that mean the same. */
export const GO_MAPPED: Readonly<Record<string, string>> = {
  'logs.directory': 'logs_dir',
  'data.directory': 'data_dir',
  'event_handling.process_restart': 'on_process_restart_exec',
  'event_handling.process_failure': 'on_process_failure_exec',
  'event_handling.process_backoff': 'on_process_backoff_exec',
};

const OWNERSHIP = ['user', 'group', 'directory_mode', 'file_mode'] as const;
const FILES_WHY = 'pmond sets the owners and modes of its files itself (data_dir 0700, data.db and pmond.log 0600, a process log 0640 owned by its user)';

/**
 * Every Go top-level key that is not also ours: its sub-keys (null for a scalar), and why
 * what has no counterpart here does not apply.
 */
export const GO_SECTIONS: Readonly<Record<string, { keys: readonly string[] | null; why: string }>> = {
  logs: { keys: ['directory', ...OWNERSHIP], why: FILES_WHY },
  data: { keys: ['directory', ...OWNERSHIP], why: FILES_WHY },
  permissions: { keys: OWNERSHIP, why: FILES_WHY },
  message_queue: {
    keys: ['directory', 'directory.shmem', 'directory.posix_mq', 'name_suffix', ...OWNERSHIP],
    why: 'pmon3 talks over a Unix socket (socket_path, socket_mode, socket_group), not message queues',
  },
  event_handling: { keys: ['process_restart', 'process_failure', 'process_backoff'], why: '' },
  wait: {
    keys: ['cmd_exec_response', 'ipc_connection', 'dependent_process_enqueued'],
    why: 'pmon3 answers a command when it is done, so there is no fixed wait',
  },
  initialization_period: { keys: null, why: 'pmond re-adopts or restarts its processes as soon as it starts' },
  disable_reloads: { keys: null, why: 'pmond reads its configuration once, at start (restart pmond to apply a change)' },
};

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Our spelling of a value, for notices: strings as they are, the rest as JSON. */
const shown = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Our configuration from a mapping that may use the Go pmon3's keys. Throws GoKeyError for a
 * key under a Go section that neither pmon3 knows, or a section that is not a mapping.
 */
export function fromGoConfig(raw: Record<string, unknown>): GoConfigResult {
  const mapped: Record<string, unknown> = {};
  const notices: string[] = [];
  const origin: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (!(k in GO_SECTIONS)) mapped[k] = v;
  for (const [section, spec] of Object.entries(GO_SECTIONS)) {
    if (!(section in raw)) continue;
    const value = raw[section];
    if (value === null || value === undefined) continue;
    // Each set leaf as [dotted key, value].
    const leaves: Array<[string, unknown]> = [];
    if (spec.keys === null) {
      if (isMapping(value) || Array.isArray(value)) throw new GoKeyError(section, 'must be a single value');
      leaves.push([section, value]);
    } else {
      if (!isMapping(value)) throw new GoKeyError(section, 'must be a mapping of keys to values');
      collect(section, value, spec.keys, '', leaves);
    }
    const ignored: string[] = [];
    for (const [key, v] of leaves) {
      const ours = GO_MAPPED[key];
      if (!ours) {
        ignored.push(key);
        continue;
      }
      if (ours in raw && raw[ours] !== null && raw[ours] !== undefined) {
        if (raw[ours] !== v) notices.push(`config: ${key} (${shown(v)}) and ${ours} (${shown(raw[ours])}) are both set; ${ours} wins`);
        continue;
      }
      mapped[ours] = v;
      origin[ours] = key;
    }
    if (ignored.length === 0) continue;
    const what = spec.keys === null ? section : `${section} (${ignored.map((k) => k.slice(section.length + 1)).join(', ')})`;
    notices.push(`config: ${what} is the Go pmon3's; ${spec.why} (ignored)`);
  }
  return { mapped, notices, origin };
}

/** The set leaves of a Go section, each checked against the sub-keys the Go pmon3 knows. */
function collect(section: string, value: Record<string, unknown>, known: readonly string[], prefix: string, out: Array<[string, unknown]>): void {
  for (const [k, v] of Object.entries(value)) {
    const rel = prefix + k;
    const key = `${section}.${rel}`;
    if (!known.includes(rel)) throw new GoKeyError(key, null);
    if (v === null || v === undefined) continue;
    const nested = known.some((n) => n.startsWith(`${rel}.`));
    if (nested) {
      if (!isMapping(v)) throw new GoKeyError(key, 'must be a mapping of keys to values');
      collect(section, v, known, `${rel}.`, out);
    } else {
      if (isMapping(v) || Array.isArray(v)) throw new GoKeyError(key, 'must be a single value');
      out.push([key, v]);
    }
  }
}
