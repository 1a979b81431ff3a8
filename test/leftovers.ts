/**
 * `make test`'s last step: what did the run leave behind? Run after `node --test` as
 *   node dist/test/leftovers.js ROOT PREFIX
 * with the PMON3_TEST_ROOT and PMON3_TEST_USER_PREFIX the run was given (test/helpers/tmp.ts).
 * It prints nothing and removes ROOT when the run left nothing; otherwise it names every
 * leftover on stderr, removes them (unless PMON3_TEST_KEEP=1) and exits 1.
 *
 * Only what is provably this run's is looked at, so other work on the machine (another
 * checkout's tests, a benchmark's pmond) is never named nor touched:
 * - anything under ROOT, and mounts under it;
 * - users, groups and /home entries whose name starts with PREFIX;
 * - processes with PMON3_TEST_ROOT=ROOT in their environment (the runner's children, every
 *   pmond and CLI the tests started), with a cwd or an open file under ROOT (a managed
 *   process's log, even deleted), running as a PREFIX user, or whose parent is one of those
 *   (pmond's children: pmond gives them a clean environment, marked PMON3_SPAWN_TOKEN).
 *   A pmond child orphaned with its log outside ROOT and its cwd outside ROOT as root
 *   cannot be told from another checkout's, and is not named.
 * Processes still exiting when node --test returns are given a few seconds to go.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One thing left behind, in words. */
export interface Leftover {
  kind: 'file' | 'mount' | 'user' | 'group' | 'home' | 'process';
  /** Path, name or pid. */
  id: string;
  /** A few words about it. */
  detail: string;
}

const under = (p: string, root: string): boolean => p === root || p.startsWith(`${root}/`);

function readLink(p: string): string | null {
  try {
    return fs.readlinkSync(p);
  } catch {
    return null;
  }
}

/** Names in /etc/passwd or /etc/group (through NSS: getent) that start with prefix. */
function namesWithPrefix(db: 'passwd' | 'group', prefix: string): Array<{ name: string; id: number }> {
  let out = '';
  try {
    out = execFileSync('getent', [db], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f[0] && f[0].startsWith(prefix))
    .map((f) => ({ name: f[0]!, id: Number(f[2]) }));
}

interface ProcInfo {
  pid: number;
  ppid: number;
  uid: number;
  zombie: boolean;
  environ: Buffer;
  cwd: string | null;
  args: string;
}

function procInfo(pid: number): ProcInfo | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
    let environ = Buffer.alloc(0);
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`);
    } catch {
      /* a kernel thread, or gone */
    }
    let args = '';
    try {
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    } catch {
      /* gone */
    }
    return { pid, ppid: Number(f[1]), uid, zombie: f[0] === 'Z', environ, cwd: readLink(`/proc/${pid}/cwd`), args };
  } catch {
    return null;
  }
}

/** Whether pid has an open file (or its cwd) under root. */
function holdsUnder(p: ProcInfo, root: string): string | null {
  if (p.cwd && under(p.cwd, root)) return `cwd ${p.cwd}`;
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${p.pid}/fd`);
  } catch {
    return null;
  }
  for (const fd of fds) {
    const target = readLink(`/proc/${p.pid}/fd/${fd}`);
    if (target && under(target.replace(/ \(deleted\)$/, ''), root)) return `fd ${fd} ${target}`;
  }
  return null;
}

/** The pids of this process and its ancestors (make, the shell): never leftovers. */
function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  let pid = process.pid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    pid = procInfo(pid)?.ppid ?? 1;
  }
  return out;
}

/** Processes of this run still alive (zombies are their parent's to reap, and their parent is named). */
export function leftoverProcesses(root: string, prefix: string): Leftover[] {
  const testUids = new Set(namesWithPrefix('passwd', prefix).map((u) => u.id));
  const marker = Buffer.from(`PMON3_TEST_ROOT=${root}\0`);
  const skip = selfAndAncestors();
  const infos = new Map<number, ProcInfo>();
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = procInfo(Number(e));
    if (p && !skip.has(p.pid)) infos.set(p.pid, p);
  }
  const why = new Map<number, string>();
  const reason = (p: ProcInfo): string | null => {
    if (why.has(p.pid)) return why.get(p.pid)!;
    why.set(p.pid, ''); // cycles cannot happen, but a pid reused mid-walk must not loop
    let r: string | null = null;
    if (p.environ.includes(marker)) r = 'PMON3_TEST_ROOT';
    else if (testUids.has(p.uid)) r = `uid ${p.uid} (a test user)`;
    else r = holdsUnder(p, root);
    if (!r && p.ppid > 1) {
      const parent = infos.get(p.ppid);
      if (parent && reason(parent)) r = `child of ${p.ppid}${p.environ.includes('PMON3_SPAWN_TOKEN=') ? ' (PMON3_SPAWN_TOKEN)' : ''}`;
    }
    why.set(p.pid, r ?? '');
    return r;
  };
  const out: Leftover[] = [];
  for (const p of infos.values()) {
    if (p.zombie) continue;
    const r = reason(p);
    if (r) out.push({ kind: 'process', id: String(p.pid), detail: `${r}: ${p.args.slice(0, 160) || '?'}` });
  }
  return out;
}

/** Everything the run left: files and mounts under root, prefixed users, groups, homes, processes. */
export function findLeftovers(root: string, prefix: string): Leftover[] {
  const out: Leftover[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(root);
  } catch {
    /* root itself gone: nothing under it */
  }
  for (const e of entries.sort()) {
    const p = path.join(root, e);
    let detail = '';
    try {
      const st = fs.lstatSync(p);
      detail = st.isDirectory() ? `directory, ${fs.readdirSync(p).length} entries` : `${st.size} bytes`;
    } catch (err) {
      detail = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    }
    out.push({ kind: 'file', id: p, detail });
  }
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const mnt = f[4]?.replace(/\\040/g, ' ');
    if (mnt && under(mnt, root) && mnt !== root) out.push({ kind: 'mount', id: mnt, detail: f[f.indexOf('-') + 1] ?? '' });
  }
  for (const u of namesWithPrefix('passwd', prefix)) out.push({ kind: 'user', id: u.name, detail: `uid ${u.id}` });
  for (const g of namesWithPrefix('group', prefix)) out.push({ kind: 'group', id: g.name, detail: `gid ${g.id}` });
  for (const h of fs.existsSync('/home') ? fs.readdirSync('/home') : []) {
    if (h.startsWith(prefix)) out.push({ kind: 'home', id: path.join('/home', h), detail: 'home directory' });
  }
  out.push(...leftoverProcesses(root, prefix));
  return out;
}

/** Remove what findLeftovers found: processes first (they hold users and mounts), then the rest. */
export function removeLeftovers(found: Leftover[], root: string): void {
  const quiet = (cmd: string, args: string[]): void => {
    try {
      execFileSync(cmd, args, { stdio: 'ignore' });
    } catch {
      /* already gone, or not removable: named above anyway */
    }
  };
  for (const l of found) if (l.kind === 'process') quiet('kill', ['-KILL', l.id]);
  for (const l of found) if (l.kind === 'user') quiet('pkill', ['-KILL', '-u', l.id]);
  for (const l of found) if (l.kind === 'user') quiet('userdel', ['--force', '--remove', l.id]);
  for (const l of found) if (l.kind === 'group') quiet('groupdel', [l.id]);
  for (const l of found) if (l.kind === 'home') fs.rmSync(l.id, { recursive: true, force: true });
  for (const l of found.filter((x) => x.kind === 'mount').reverse()) quiet('umount', ['-l', l.id]);
  fs.rmSync(root, { recursive: true, force: true });
}

function main(): void {
  const [root, prefix] = process.argv.slice(2);
  if (!root || !path.isAbsolute(root) || !prefix || !/^[a-z][a-z0-9-]*-$/.test(prefix)) {
    process.stderr.write('usage: leftovers.js ROOT PREFIX (an absolute path, a user prefix like pmt1a2b-)\n');
    process.exit(2);
  }
  // Processes that are exiting as node --test returns (a pmond finishing its shutdown) may take
  // a moment: look again until nothing is left or the deadline passes.
  const deadline = Date.now() + 5000;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let found = findLeftovers(root, prefix);
  while (found.length > 0 && Date.now() < deadline) {
    Atomics.wait(pause, 0, 0, 100);
    found = findLeftovers(root, prefix);
  }
  if (found.length === 0) {
    fs.rmSync(root, { recursive: true, force: true });
    return;
  }
  const keep = process.env.PMON3_TEST_KEEP === '1';
  const lines = found.map((l) => `  ${l.kind.padEnd(7)} ${l.id}  (${l.detail})`);
  process.stderr.write(
    `leftovers: make test left ${found.length} thing(s) behind (root ${root}, users ${prefix}*)${keep ? ', kept (PMON3_TEST_KEEP=1)' : ', now removed'}:\n${lines.join('\n')}\n`,
  );
  if (!keep) removeLeftovers(found, root);
  process.exitCode = 1;
}

if (require.main === module) main();
