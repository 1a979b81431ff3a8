/**
 * An isolated pmond per test suite: its own temp dir, config (PMON3_CONF),
 * socket, database and logs. Drives the built bin/pmon3 as a real process.
 * stop() ends pmond and every process it ever reported, by pid. A daemon
 * whose suite never called stop() (a failed before(), a throw) is killed,
 * with what it reported and its cgroups, when the test file's process exits.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { daemonIdFor } from '../../internal/daemon/daemon';
import { cgroup2Mount, ownCgroup } from '../../internal/process/cgroups';
import { pidAlive, waitFor } from './wait';
import { removeTempDir, tempDir } from './tmp';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const PMON3 = path.join(ROOT, 'bin', 'pmon3');
export const PMOND = path.join(ROOT, 'bin', 'pmond');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A config value: a YAML scalar, a list of strings, or an object (written as JSON, which YAML reads). */
export type ConfigValue = string | number | boolean | string[] | { [key: string]: unknown };

export interface DaemonOptions {
  /** Extra config keys. */
  config?: Record<string, ConfigValue>;
  /** Start pmond as this uid/gid (needs root). */
  uid?: number;
  gid?: number;
  /** Reuse this directory (a restart of the same daemon). */
  dir?: string;
  /** Start pmond in a session of its own, without a controlling terminal (setsid), as systemd does. */
  setsid?: boolean;
  /** Run pmond through this command prefix (e.g. setpriv with securebits); it must exec pmond. */
  wrap?: string[];
}

/** Daemons launched and not yet stopped, killed at exit (see the file's comment). */
const live = new Set<TestDaemon>();
process.once('exit', () => {
  for (const d of [...live]) d.killAll();
});

export class TestDaemon {
  proc?: ChildProcess;
  pid = 0;
  readonly conf: string;
  readonly socket: string;
  readonly logs: string;
  readonly data: string;
  /** Every pid any command reported, so stop() can make sure none survives. */
  readonly seenPids = new Set<number>();
  /** Whether start() made dir (then stop() removes it). */
  ownsDir = false;
  private stderrText = '';

  constructor(
    readonly dir: string,
    private readonly opts: DaemonOptions = {},
  ) {
    this.conf = path.join(dir, 'pmon3.yaml');
    this.socket = path.join(dir, 's.sock');
    this.logs = path.join(dir, 'logs');
    this.data = path.join(dir, 'data');
  }

  /** Create a fresh temp dir with a short path (Unix socket paths max 107 bytes). */
  static async start(opts: DaemonOptions = {}): Promise<TestDaemon> {
    const dir = opts.dir ?? tempDir('pmt-', 0o755);
    const d = new TestDaemon(dir, opts);
    d.ownsDir = opts.dir === undefined;
    d.writeConfig();
    try {
      await d.launch();
    } catch (e) {
      // Nobody gets a handle to stop: end what started and remove the dir here.
      await d.stop().catch(() => undefined);
      throw e;
    }
    return d;
  }

  writeConfig(extra: Record<string, ConfigValue> = {}): void {
    const cfg: Record<string, ConfigValue> = {
      data_dir: this.data,
      logs_dir: this.logs,
      socket_path: this.socket,
      stop_timeout: 3,
      restart_backoff_initial: 50,
      restart_backoff_max: 400,
      restart_stable_after: 1000,
      process_monitor_interval: 100,
      ...this.opts.config,
      ...extra,
    };
    const text = Object.entries(cfg)
      .map(([k, v]) => `${k}: ${typeof v === 'string' || typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join('\n');
    fs.writeFileSync(this.conf, `${text}\n`);
  }

  /** Start pmond and wait until it answers. */
  async launch(extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
    const env = { ...process.env, PMON3_CONF: this.conf, ...extraEnv };
    this.stderrText = '';
    // bin/pmond itself, so its shebang's V8 flags apply as in production.
    const [cmd, ...argv] = [...(this.opts.wrap ?? []), PMOND];
    const p = spawn(cmd!, argv, {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: this.opts.setsid ?? false,
      ...(this.opts.uid !== undefined ? { uid: this.opts.uid, gid: this.opts.gid } : {}),
    });
    p.stderr!.on('data', (b: Buffer) => {
      this.stderrText += b.toString();
    });
    this.proc = p;
    this.pid = p.pid!;
    live.add(this);
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    await Promise.race([
      waitFor('pmond to listen', () => this.stderrText.includes('listening on'), 20_000),
      exited.then(() => {
        throw new Error(`pmond exited at start: ${this.stderrText.trim()}`);
      }),
    ]);
  }

  /** pmond's stderr so far. */
  get stderr(): string {
    return this.stderrText;
  }

  /** Run bin/pmon3 (or `bin`, another path to the CLI, e.g. a symlink) with args against this daemon. */
  run(
    args: string[],
    opts: { cwd?: string; uid?: number; gid?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number; as?: { uid: number; gid: number; name: string }; bin?: string } = {},
  ): Promise<RunResult> {
    const bin = opts.bin ?? PMON3;
    // `as`: run the CLI as that user with all its groups (setpriv --init-groups), HOME set to theirs.
    const [cmd, argv] = opts.as
      ? ['setpriv', ['--reuid', String(opts.as.uid), '--regid', String(opts.as.gid), '--init-groups', '--', bin, ...args]]
      : [bin, args];
    const asEnv = opts.as ? { HOME: `/home/${opts.as.name}`, USER: opts.as.name, LOGNAME: opts.as.name } : {};
    return new Promise((resolve) => {
      execFile(
        cmd,
        argv,
        {
          cwd: opts.cwd ?? (opts.as ? '/tmp' : this.dir),
          env: { ...process.env, PMON3_CONF: this.conf, ...asEnv, ...opts.env },
          timeout: opts.timeoutMs ?? 60_000,
          maxBuffer: 64 * 1024 * 1024,
          ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** Run with --json, expect success, return the parsed value. */
  async json<T = any>(args: string[], opts: Parameters<TestDaemon['run']>[1] = {}): Promise<T> {
    // --json must come before a `--` that ends pmon3's own flags.
    const dd = args.indexOf('--');
    const full = dd < 0 ? [...args, '--json'] : [...args.slice(0, dd), '--json', ...args.slice(dd)];
    const r = await this.run(full, opts);
    if (r.code !== 0) throw new Error(`pmon3 ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    const v = JSON.parse(r.stdout) as T;
    this.remember(v);
    return v;
  }

  /** The process list. */
  async ls(): Promise<any[]> {
    return this.json<any[]>(['ls']);
  }

  /** One process by name from ls. */
  async get(name: string): Promise<any> {
    return (await this.ls()).find((p) => p.name === name);
  }

  /** Wait until process `name` satisfies pred. */
  async waitProc(name: string, what: string, pred: (p: any) => boolean, ms = 15_000): Promise<any> {
    return waitFor(`${name} ${what}`, async () => {
      const p = await this.get(name);
      return p && pred(p) ? p : undefined;
    }, ms, 50);
  }

  private remember(v: unknown): void {
    const list = Array.isArray(v) ? v : [v];
    for (const p of list) if (p && typeof p === 'object' && typeof (p as any).pid === 'number') this.seenPids.add((p as any).pid);
  }

  /** SIGKILL pmond (children keep running). */
  async crash(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(this.pid, 'SIGKILL');
    await gone;
  }

  /** SIGTERM pmond and wait for it to exit. */
  async terminate(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(this.pid, 'SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 20_000).unref())]);
    if (pidAlive(this.pid)) process.kill(this.pid, 'SIGKILL');
  }

  /** End pmond, then make sure no process it reported survives (by pid, process group). */
  async stop(): Promise<void> {
    try {
      if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
        await this.run(['drop', '--force']).catch(() => undefined);
        await this.terminate();
      }
    } finally {
      this.killAll();
      if (this.ownsDir) removeTempDir(this.dir);
    }
  }

  /** SIGKILL pmond (if it still runs), every pid it reported and their groups; remove its cgroups. Synchronous. */
  killAll(): void {
    live.delete(this);
    const pids = [...this.seenPids];
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) pids.unshift(this.pid);
    for (const pid of pids) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    this.removeCgroups();
  }

  /** Kill and remove what is left of this pmond's cgroups (pmond removes them itself unless it was killed). */
  private removeCgroups(): void {
    const mount = cgroup2Mount();
    const own = ownCgroup();
    if (!mount || own === null) return;
    const base = path.join(mount, own, `pmon3-${daemonIdFor(this.data)}`);
    let subs: string[] = [];
    try {
      subs = fs.readdirSync(base).filter((e) => /^p\d+(-\w+)?$/.test(e));
    } catch {
      return;
    }
    for (const sub of subs) {
      const dir = path.join(base, sub);
      try {
        fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
      } catch {
        /* gone */
      }
    }
    const deadline = Date.now() + 3000;
    for (const dir of [...subs.map((sub) => path.join(base, sub)), base]) {
      for (;;) {
        try {
          fs.rmdirSync(dir);
          break;
        } catch (e) {
          // EBUSY while the killed processes are still exiting.
          if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) break;
        }
      }
    }
  }
}
