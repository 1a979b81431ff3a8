/**
 * The Go pmon3's field names in a hook's JSON, beside ours, so that a hook script written for
 * the Go pmon3 (`jq .username`, `.auto_restart`) works unchanged. The Go pmon3 passes its
 * process row as JSON (model.Process in its model/modal.go); what it names as we do (`id`,
 * `name`, `pid`, `uid`, `gid`, `log`, `process_file`, `created_at`, `updated_at`) is already
 * there, and ours are never removed. Where the two differ in type, ours stays:
 * - `status`: ours is the name (`"running"`), the Go pmon3's was its enum number (2);
 * - `args`: ours is the argv array, the Go pmon3's one space-joined string;
 * - `pid`: ours is null when none runs, the Go pmon3's 0.
 * `env_vars` (the Go pmon3's names and values) is not given: a hook's $1 is readable by every
 * local user, so only `env_names` are. `cpu_usage` and `memory_usage` are empty, as the Go
 * pmon3's were in every event.
 */
import type { HookEvent, HookRunner } from './hooks';

/** What the Go fields need that the payload does not carry: the process's definition. */
export interface GoFacts {
  /** Whether pmond restarts it when it ends. */
  auto_restart: boolean;
  /** Names of the apps it depends on. */
  dependencies: string[];
  /** Names of its groups. */
  groups: string[];
}

/** payload with the Go pmon3's field names added (none of ours replaced). */
export function withGoFields(payload: Record<string, unknown>, facts: GoFacts | undefined): Record<string, unknown> {
  const go: Record<string, unknown> = {
    username: payload.user,
    cpu_usage: '',
    memory_usage: '',
  };
  if (facts) {
    go.auto_restart = facts.auto_restart;
    go.dependencies = facts.dependencies.join(' ');
    go.Groups = facts.groups.map((name) => ({ name }));
  }
  const out: Record<string, unknown> = { ...payload };
  for (const [k, v] of Object.entries(go)) if (!(k in out)) out[k] = v;
  return out;
}

/**
 * A HookRunner that adds the Go fields before handing a hook to `inner`. The facts are looked
 * up by the payload's id (an in-memory read); a lookup that fails or finds nothing still fires
 * the hook, with the fields the payload alone gives. Hooks are handed on in the order fired.
 */
export function goFieldsRunner(inner: HookRunner, lookup: (id: number) => Promise<GoFacts | undefined>): HookRunner {
  let chain: Promise<void> = Promise.resolve();
  return {
    fire(event: HookEvent, payload: Record<string, unknown>): void {
      const facts = typeof payload.id === 'number' ? lookup(payload.id).catch(() => undefined) : Promise.resolve(undefined);
      chain = chain.then(async () => inner.fire(event, withGoFields(payload, await facts)));
    },
    async idle(): Promise<void> {
      await chain;
      await inner.idle();
    },
    close(): void {
      inner.close();
    },
  };
}
