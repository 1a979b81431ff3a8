/**
 * pmon3: pmond started from bin/pmond with its own PMON3_CONF (data, logs and
 * socket in a temp dir), driven through bin/pmon3 for the CLI workloads and
 * through internal/client (one persistent connection) for bulk set-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '../../internal/client/client';
import { alive, runOk, waitFor, type Cmd, type ProcRef } from '../lib/proc';
import { rememberPid, shutdownDaemon, type Command, type CronApps, type FileApps, type Manager, type ProgramSpec, type RollingApps } from './manager';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** The launcher users run (start-up snapshot when it can), and the CLI from dist/ it falls back to. */
const PMON3 = path.join(ROOT, 'bin', 'pmon3');
const PMON3_JS = path.join(ROOT, 'bin', 'pmon3.js');
const PMOND = path.join(ROOT, 'bin', 'pmond');

export class Pmon3 implements Manager {
  readonly name: string = 'pmon3';
  private proc?: ChildProcess;
  private pid = 0;
  private readonly conf: string;
  /** pmond's Unix socket (the http workload's raw listing calls go to it). */
  readonly socket: string;
  private readonly logs: string;
  private readonly daemonLog: string;
  /** Every process this adapter has seen, killed by pid at shutdown if still there. */
  private readonly seen = new Map<number, ProcRef>();

  /**
   * extra: more keys of pmond's config, written as JSON (which YAML reads); the http workload
   * turns the HTTP door on with `{ http: {...} }`, every other pmond runs without one.
   */
  constructor(
    private readonly dir: string,
    private readonly extra: Record<string, unknown> = {},
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.conf = path.join(dir, 'pmon3.yaml');
    this.socket = path.join(dir, 'pmon3.sock');
    this.logs = path.join(dir, 'logs');
    this.daemonLog = path.join(dir, 'pmond.out');
  }

  async start(): Promise<void> {
    // restart_stable_after 500 ms: the restart workload kills a child that has run 0.7 s, and
    // every manager gets the same "stable after 0.5 s" rule (PM2 min_uptime, supervisord startsecs).
    const cfg = {
      data_dir: path.join(this.dir, 'data'),
      logs_dir: this.logs,
      socket_path: this.socket,
      stop_timeout: 3,
      restart_stable_after: 500,
      handle_interrupts: true,
      ...this.extra,
    };
    fs.writeFileSync(this.conf, Object.entries(cfg).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
    const out = fs.openSync(this.daemonLog, 'a');
    try {
      // stdout/stderr to a file, as a service manager's journal would take them.
      // bin/pmond itself, not `node bin/pmond`: its shebang carries pmond's V8 flags.
      this.proc = spawn(PMOND, [], { env: { ...process.env, ...this.env() }, stdio: ['ignore', out, out] });
    } finally {
      fs.closeSync(out);
    }
    this.pid = this.proc.pid!;
    this.remember(this.pid);
    await waitFor('pmond to listen', () => {
      if (!alive(this.pid)) throw new Error(`pmond exited at start: ${fs.readFileSync(this.daemonLog, 'utf8').trim()}`);
      // The socket's own line: with the HTTP door on, pmond says "http: listening on" first.
      return fs.readFileSync(this.daemonLog, 'utf8').includes(`listening on ${this.socket}`);
    }, 30_000);
  }

  daemonPid(): number {
    return this.pid;
  }

  /** An apps file (JSON, one of the formats apply reads) and `pmon3 apply -f` on it. */
  readonly fileApps: FileApps = {
    // apply defines and starts in one call: autostart stays true (the start call is apply).
    writeApps: async (specs) => {
      const apps = specs.map((s) => ({
        name: s.name,
        exec: s.node ? process.execPath : s.file,
        args: s.node ? [s.file, ...s.args] : s.args,
        cwd: this.dir,
        ...(s.env ? { env: s.env } : {}),
        ...(s.log ? { log: s.log } : {}),
        ...(s.rotate ? { rotate: { size: `${s.rotate.mib}M`, keep: s.rotate.keep } } : {}),
      }));
      fs.writeFileSync(path.join(this.dir, 'apps.json'), JSON.stringify({ apps }));
    },
    startCmd: () => ({ file: PMON3, args: ['apply', '-f', path.join(this.dir, 'apps.json')], env: this.env() }),
    convergeCmd: () => ({ file: PMON3, args: ['apply', '-f', path.join(this.dir, 'apps.json')], env: this.env() }),
  };

  /** Cron apps (`cron:` in an apps file, JSON like the apps workload's) and `pmon3 apply -f`; armed: `scheduled`. */
  readonly cronApps: CronApps = {
    writeCron: async (specs) => {
      const apps = specs.map((s) => ({ name: s.name, exec: s.file, args: s.args, cwd: this.dir, cron: s.cron, ...(s.env ? { env: s.env } : {}) }));
      fs.writeFileSync(path.join(this.dir, 'cron-apps.json'), JSON.stringify({ apps }));
    },
    armCmd: () => ({ file: PMON3, args: ['apply', '-f', path.join(this.dir, 'cron-apps.json')], env: this.env() }),
    armed: async (names) => {
      const want = new Set(names);
      const list = await this.withClient((c) => c.listAll());
      return list.filter((p) => want.has(p.name) && p.status === 'scheduled').length;
    },
    daemonLog: () => this.daemonLog,
  };

  /**
   * The reload workload: an apps file of one app of N instances on a socket pmond binds
   * (every instance gets it as fd 3), `ready: notify`, max_surge 2, stop_timeout 5 s;
   * `pmon3 apply -f`, ready when all N are `running`; then `pmon3 reload NAME`.
   */
  readonly rollingApps: RollingApps = {
    deploy: async (spec) => {
      const file = path.join(this.dir, 'rolling-apps.json');
      const app = {
        name: spec.name,
        exec: process.execPath,
        args: [spec.script],
        cwd: this.dir,
        instances: spec.instances,
        sockets: [`127.0.0.1:${spec.port}`],
        ready: 'notify',
        ready_timeout: '10s',
        max_surge: 2,
        stop_timeout: '5s',
      };
      fs.writeFileSync(file, JSON.stringify({ apps: [app] }));
      await runOk({ file: PMON3, args: ['apply', '-f', file], env: this.env() }, 60_000);
      await waitFor(`${spec.instances} ${spec.name} instances running`, async () => (await this.rollingApps.instancePids(spec.name)).length === spec.instances, 30_000, 50);
    },
    reloadCmd: (name) => ({ file: PMON3, args: ['reload', name], env: this.env() }),
    instancePids: async (name) => {
      const list = await this.withClient((c) => c.listAll());
      const re = new RegExp(`^${name}:\\d+$`);
      const pids = list.filter((p) => re.test(p.name) && p.status === 'running' && p.pid !== null).map((p) => p.pid!);
      for (const pid of pids) this.remember(pid);
      return pids;
    },
  };

  /** What pmond has written to its stdout and stderr so far. */
  daemonOutput(): string {
    return fs.readFileSync(this.daemonLog, 'utf8');
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { PMON3_CONF: this.conf, ...extra };
  }

  async startMany(specs: ProgramSpec[]): Promise<void> {
    await this.withClient(async (c) => {
      for (const s of specs) {
        const v = await c.call('exec', {
          file: s.node ? process.execPath : s.file,
          name: s.name,
          args: s.node ? [s.file, ...s.args] : s.args,
          env: {},
          cwd: this.dir,
          auto_restart: true,
          ...(s.log ? { log: s.log } : {}),
        });
        if (v.pid !== null) this.remember(v.pid);
      }
    });
    const want = new Set(specs.map((s) => s.name));
    await waitFor(`${specs.length} pmon3 programs to run`, async () => {
      const running = await this.pids();
      return [...want].every((n) => running.has(n));
    }, 60_000, 50);
  }

  cliStart(spec: ProgramSpec): { cmd: Cmd } {
    return {
      cmd: {
        file: PMON3,
        args: ['exec', spec.node ? process.execPath : spec.file, '--name', spec.name, '--', ...(spec.node ? [spec.file] : []), ...spec.args],
        env: this.env(),
      },
    };
  }

  listCmd(json: boolean): Cmd {
    return { file: PMON3, args: ['ls', ...(json ? ['--json'] : [])], env: this.env() };
  }

  commandCmd(c: Command, name: string): Cmd {
    const args: Record<Command, string[]> = {
      ls: ['ls'],
      desc: ['desc', name],
      log: ['log', name, '-n', '10'],
      stop: ['stop', name],
      start: ['start', name],
      restart: ['restart', name],
      reset: ['reset', name],
      del: ['del', name],
      version: ['version'],
      help: ['help'],
      'dash-help': ['--help'],
      'exec-help': ['exec', '--help'],
    };
    return { file: PMON3, args: args[c], env: this.env() };
  }

  async pids(): Promise<Map<string, number>> {
    const list = await this.withClient((c) => c.listAll());
    const m = new Map<string, number>();
    for (const p of list) {
      if (p.pid !== null && p.status === 'running') {
        m.set(p.name, p.pid);
        this.remember(p.pid);
      }
    }
    return m;
  }

  async remove(name: string): Promise<void> {
    await this.pids();
    await this.withClient((c) => c.call('delete', { target: name, force: true }));
  }

  async clear(): Promise<void> {
    await this.pids();
    await this.withClient((c) => c.call('drop', { force: true }), 120_000);
  }

  async shutdown(): Promise<void> {
    await shutdownDaemon(
      this.pid,
      async () => {
        await this.clear().catch(() => undefined);
        // handle_interrupts: true, so SIGTERM also stops any child still there.
        process.kill(this.pid, 'SIGTERM');
      },
      20_000,
      this.seen,
    );
  }

  private remember(pid: number): void {
    rememberPid(this.seen, pid);
  }

  private async withClient<T>(fn: (c: Client) => Promise<T>, timeoutMs = 60_000): Promise<T> {
    const c = await Client.connect(this.socket, { timeoutMs, idleMs: timeoutMs });
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }
}

/** The CLI without its start-up snapshot: `node bin/pmon3.js` (environment as is), the dist/ path. */
function before(cmd: Cmd): Cmd {
  return { file: process.execPath, args: [PMON3_JS, ...cmd.args], env: cmd.env };
}

/**
 * The same pmond through the CLI from dist/, started as `node bin/pmon3.js` (what runs when the
 * snapshot cannot: NODE_OPTIONS set, another node): a column of the CLI workloads. It owns no daemon.
 * (Until the command table, this column was the oclif CLI: "pmon3 via oclif (before)".)
 */
export class Pmon3Oclif implements Manager {
  readonly name = 'pmon3 (oclif)';
  /** Marks a CLI-only view of another column: daemon workloads skip it. */
  readonly cliVariantOf = 'pmon3';

  constructor(private readonly base: Pmon3) {}

  async start(): Promise<void> {}
  daemonPid(): number {
    return this.base.daemonPid();
  }
  startMany(specs: ProgramSpec[]): Promise<void> {
    return this.base.startMany(specs);
  }
  cliStart(spec: ProgramSpec): { cmd: Cmd } {
    return { cmd: before(this.base.cliStart(spec).cmd) };
  }
  listCmd(json: boolean): Cmd {
    return before(this.base.listCmd(json));
  }
  commandCmd(c: Command, name: string): Cmd {
    return before(this.base.commandCmd(c, name));
  }
  pids(): Promise<Map<string, number>> {
    return this.base.pids();
  }
  remove(name: string): Promise<void> {
    return this.base.remove(name);
  }
  clear(): Promise<void> {
    return this.base.clear();
  }
  async shutdown(): Promise<void> {}
}
