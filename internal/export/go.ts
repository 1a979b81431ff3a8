/**
 * The Go pmon3's `export`: its process config (`processes` of exec flags) in JSON, YAML or TOML,
 * byte for byte as the Go pmon3 writes it (encoding/json + json.Indent "  "; yaml.v3 with its
 * 4-space indent; BurntSushi/toml), from our apps. Pure.
 *
 * One entry per app (the Go pmon3 has no instances: an app of several is one entry, and
 * `notes` says so); args are joined by spaces and env as K=V pairs by spaces, as the Go pmon3
 * stores them (an argument holding a space cannot survive that, and `notes` says so too); `log`
 * is the file the first instance writes. Ordered by the field `-o` names, as its SQL `ORDER BY`.
 */
import { stringify } from 'yaml';
import { invalidArgument } from '../protocol/errors';
import type { AppView } from '../protocol/methods';

/** The Go pmon3's ExecFlags, its field order (model/modal.go). */
export interface GoExecFlags {
  file: string;
  user: string;
  log?: string;
  log_dir?: string;
  args: string;
  env_vars?: string;
  name: string;
  dependencies?: string[];
  groups?: string[];
  no_auto_restart: boolean;
}

export const GO_FORMATS = ['json', 'yaml', 'toml'] as const;
export type GoFormat = (typeof GO_FORMATS)[number];

/** Fields `-o` may order by (the Go pmon3's columns; ours as aliases), never anything else. */
export const ORDER_FIELDS: Readonly<Record<string, (a: AppView) => string | number>> = {
  id: (a) => a.processes[0]?.id ?? a.id,
  name: (a) => a.name,
  process_file: (a) => a.spec.file,
  file: (a) => a.spec.file,
  username: (a) => a.user,
  user: (a) => a.user,
  log: (a) => a.processes[0]?.log ?? a.spec.log ?? '',
  created_at: (a) => a.created_at,
};

/** A value as the Go pmon3's -e / env_vars takes it back: bare when it can be, else double-quoted. */
function envWord(k: string, v: string): string {
  return /^[A-Za-z0-9_./:,@%+=-]*$/.test(v) ? `${k}=${v}` : `${k}=${JSON.stringify(v)}`;
}

export function goExecFlags(apps: readonly AppView[], orderBy = 'id'): { processes: GoExecFlags[]; notes: string[] } {
  const key = ORDER_FIELDS[orderBy];
  if (!key) throw invalidArgument(`export: cannot order by "${orderBy.slice(0, 40)}"; one of ${Object.keys(ORDER_FIELDS).join(', ')}`);
  const notes: string[] = [];
  const sorted = [...apps].sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : a.id - b.id;
  });
  const processes = sorted.map((a): GoExecFlags => {
    if (a.instances > 1) notes.push(`${a.name}: ${a.instances} instances, one entry (the Go pmon3 has no instances)`);
    if (a.spec.args.some((w) => /\s/.test(w) || w === '')) notes.push(`${a.name}: an argument holds a space or is empty; the Go pmon3 splits args on spaces`);
    const env = Object.entries(a.spec.env).map(([k, v]) => envWord(k, v)).join(' ');
    const log = a.processes[0]?.log ?? a.spec.log;
    return {
      file: a.spec.file,
      user: a.user,
      ...(log ? { log } : {}),
      args: a.spec.args.join(' '),
      ...(env ? { env_vars: env } : {}),
      name: a.name,
      ...(a.dependencies.length ? { dependencies: a.dependencies } : {}),
      ...(a.groups.length ? { groups: a.groups } : {}),
      no_auto_restart: a.spec.restart === 'never',
    };
  });
  return { processes, notes };
}

/** encoding/json: json.Marshal (HTML characters and U+2028/9 escaped), then json.Indent with two spaces. No newline at the end. */
function goJson(processes: GoExecFlags[]): string {
  return JSON.stringify({ processes }, undefined, 2)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
    .replace(/(?<!\\)((?:\\\\)*)\\b/g, '$1\\u0008')
    .replace(/(?<!\\)((?:\\\\)*)\\f/g, '$1\\u000c');
}

/** A scalar as yaml.v3 writes it: plain when that reads back as the same string, else double-quoted. */
function yamlScalar(s: string): string {
  return stringify(s, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN', doubleQuotedAsJSON: true }).replace(/\n$/, '');
}

/** yaml.v3's Encoder: 4-space indent; a sequence item's mapping keys two past its dash; omitempty fields left out. */
function goYaml(processes: GoExecFlags[]): string {
  if (processes.length === 0) return 'processes: []\n';
  const out = ['processes:'];
  for (const p of processes) {
    const fields: Array<[string, string | string[] | undefined]> = [
      ['file', p.file],
      ['user', p.user],
      ['log', p.log],
      ['log_dir', p.log_dir],
      ['args', p.args],
      ['env_vars', p.env_vars],
      ['name', p.name],
      ['dependencies', p.dependencies],
      ['groups', p.groups],
      ['no_auto_restart', p.no_auto_restart ? 'true' : undefined],
    ];
    let first = true;
    for (const [k, v] of fields) {
      if (v === undefined) continue;
      const lead = first ? '    - ' : '      ';
      first = false;
      if (Array.isArray(v)) {
        out.push(`${lead}${k}:`, ...v.map((x) => `        - ${yamlScalar(x)}`));
      } else {
        out.push(`${lead}${k}: ${k === 'no_auto_restart' ? v : yamlScalar(v)}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}

/** A TOML basic string as BurntSushi/toml writes it. */
function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** BurntSushi/toml's Encoder over ProcessConfig: [[Processes]] tables, keys indented two, a blank line between. */
function goToml(processes: GoExecFlags[]): string {
  if (processes.length === 0) return 'Processes = []\n';
  const tables = processes.map((p) => {
    const lines = ['[[Processes]]', `  File = ${tomlString(p.file)}`, `  User = ${tomlString(p.user)}`];
    if (p.log) lines.push(`  Log = ${tomlString(p.log)}`);
    if (p.log_dir) lines.push(`  LogDir = ${tomlString(p.log_dir)}`);
    lines.push(`  Args = ${tomlString(p.args)}`);
    if (p.env_vars) lines.push(`  EnvVars = ${tomlString(p.env_vars)}`);
    lines.push(`  Name = ${tomlString(p.name)}`);
    if (p.dependencies) lines.push(`  dependencies = [${p.dependencies.map(tomlString).join(', ')}]`);
    if (p.groups) lines.push(`  groups = [${p.groups.map(tomlString).join(', ')}]`);
    if (p.no_auto_restart) lines.push('  NoAutoRestart = true');
    return lines.join('\n');
  });
  return `${tables.join('\n\n')}\n`;
}

/** The text the Go pmon3's export prints (before its Println's newline). */
export function formatGo(format: GoFormat, processes: GoExecFlags[]): string {
  switch (format) {
    case 'json':
      return goJson(processes);
    case 'yaml':
      return goYaml(processes);
    case 'toml':
      return goToml(processes);
  }
}
