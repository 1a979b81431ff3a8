/**
 * PM2 from bench/.peers (npm), with PM2_HOME in a temp dir: its God daemon,
 * its rpc/pub Unix sockets, its logs and pid file all stay there. Bulk set-up
 * goes through an ecosystem file; the CLI workloads use `pm2 start`, `pm2 ls`
 * and `pm2 jlist`, as PM2 users do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, run, runOk, waitFor, type Cmd, type ProcRef } from '../lib/proc';
import { rememberPid, shutdownDaemon, type Command, type CronApps, type FileApps, type Manager, type ProgramSpec, type RollingApps } from './manager';
import { ROOT } from './pmon3';

export const PM2_BIN = path.join(ROOT, 'bench', '.peers', 'node_modules', 'pm2', 'bin', 'pm2');

export class Pm2 implements Manager {
  readonly name = 'PM2';
  private pid = 0;
  private readonly home: string;
  private readonly seen = new Map<number, ProcRef>();
  private batch = 0;

  constructor(private readonly dir: string) {
    // PM2_HOME holds rpc.sock and pub.sock: keep the path short (Unix socket paths max 107 bytes).
    this.home = path.join(dir, 'h');
    fs.mkdirSync(path.join(this.home, 'logs'), { recursive: true });
  }

  private cmd(args: string[]): Cmd {
    return { file: process.execPath, args: [PM2_BIN, ...args], env: { PM2_HOME: this.home } };
  }

  async start(): Promise<void> {
    await runOk(this.cmd(['ping']), 60_000); // spawns the God daemon
    this.pid = await waitFor('PM2 pid file', () => {
      try {
        const pid = Number(fs.readFileSync(path.join(this.home, 'pm2.pid'), 'utf8').trim());
        return pid > 0 && alive(pid) ? pid : 0;
      } catch {
        return 0;
      }
    }, 30_000);
    this.remember(this.pid);
  }

  daemonPid(): number {
    return this.pid;
  }

  /** An ecosystem file and `pm2 start FILE`. PM2 has no converge that leaves unchanged apps alone (startOrReload reloads every app). */
  readonly fileApps: FileApps = {
    writeApps: async (specs) => {
      fs.writeFileSync(path.join(this.dir, 'ecosystem-apps.json'), JSON.stringify({ apps: specs.map((s) => this.app(s)) }));
    },
    startCmd: () => this.cmd(['start', path.join(this.dir, 'ecosystem-apps.json')]),
    convergeCmd: () => undefined,
  };

  /**
   * `cron_restart` (croner: 6 fields, seconds first) with `autorestart: false`, as PM2 users run a
   * job. PM2 runs each app once at `start` (`autostart: false` would never start it: its cron job
   * calls restartProcessId, whose executeApp leaves an autostart-false app stopped); armed: all
   * `stopped` after that first run, each with its cron job registered at start.
   */
  readonly cronApps: CronApps = {
    writeCron: async (specs) => {
      const apps = specs.map((s) => ({ ...this.app(s), autorestart: false, cron_restart: s.cron }));
      fs.writeFileSync(path.join(this.dir, 'ecosystem-cron.json'), JSON.stringify({ apps }));
    },
    armCmd: () => this.cmd(['start', path.join(this.dir, 'ecosystem-cron.json')]),
    armed: async (names) => {
      const want = new Set(names);
      const r = await runOk(this.cmd(['jlist']), 120_000);
      const list = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ name: string; pm2_env?: { status?: string } }>;
      return list.filter((p) => want.has(p.name) && p.pm2_env?.status === 'stopped').length;
    },
    daemonLog: () => path.join(this.home, 'pm2.log'),
  };

  /**
   * The reload workload: cluster mode (the God daemon is the cluster master and shares the port
   * through node's cluster module), N instances, `wait_ready` (the app's process.send('ready'))
   * with listen_timeout 10 s, kill_timeout 5 s (pmon3's stop_timeout); `pm2 start FILE`, ready
   * when all N are `online`; then `pm2 reload NAME`.
   */
  readonly rollingApps: RollingApps = {
    deploy: async (spec) => {
      const file = path.join(this.dir, 'ecosystem-rolling.json');
      const app = {
        name: spec.name,
        script: spec.script,
        exec_mode: 'cluster',
        instances: spec.instances,
        wait_ready: true,
        listen_timeout: 10_000,
        kill_timeout: 5000,
        cwd: this.dir,
        env: { PORT: String(spec.port) },
        autorestart: true,
        min_uptime: 500,
        out_file: path.join(this.home, 'logs', `${spec.name}.out.log`),
        error_file: path.join(this.home, 'logs', `${spec.name}.err.log`),
      };
      fs.writeFileSync(file, JSON.stringify({ apps: [app] }));
      await runOk(this.cmd(['start', file]), 60_000);
      await waitFor(`${spec.instances} ${spec.name} instances online`, async () => (await this.rollingApps.instancePids(spec.name)).length === spec.instances, 30_000, 100);
    },
    reloadCmd: (name) => this.cmd(['reload', name]),
    instancePids: async (name) => {
      const r = await runOk(this.cmd(['jlist']), 120_000);
      const list = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ name: string; pid: number; pm2_env?: { status?: string } }>;
      const pids = list.filter((p) => p.name === name && p.pid > 0 && p.pm2_env?.status === 'online').map((p) => p.pid);
      for (const pid of pids) this.remember(pid);
      return pids;
    },
  };

  /** An ecosystem entry. min_uptime 500 ms like the other managers' "stable after"; no cap on restarts. */
  private app(s: ProgramSpec): Record<string, unknown> {
    return {
      name: s.name,
      script: s.file,
      args: s.args,
      interpreter: s.node ? process.execPath : 'none',
      exec_mode: 'fork',
      cwd: this.dir,
      autorestart: true,
      ...(s.env ? { env: s.env } : {}),
      min_uptime: 500,
      max_restarts: 1_000_000,
      out_file: s.log ?? path.join(this.home, 'logs', `${s.name}.out.log`),
      error_file: path.join(this.home, 'logs', `${s.name}.err.log`),
    };
  }

  async startMany(specs: ProgramSpec[]): Promise<void> {
    const file = path.join(this.dir, `ecosystem-${++this.batch}.json`);
    fs.writeFileSync(file, JSON.stringify({ apps: specs.map((s) => this.app(s)) }));
    await runOk(this.cmd(['start', file]), 300_000);
    const want = specs.map((s) => s.name);
    await waitFor(`${specs.length} PM2 apps online`, async () => {
      const running = await this.pids();
      return want.every((n) => running.has(n));
    }, 120_000, 200);
  }

  cliStart(spec: ProgramSpec): { cmd: Cmd } {
    const args = spec.node
      ? ['start', spec.file, '--name', spec.name]
      : ['start', spec.file, '--name', spec.name, '--interpreter', 'none'];
    return { cmd: this.cmd(spec.args.length ? [...args, '--', ...spec.args] : args) };
  }

  listCmd(json: boolean): Cmd {
    return this.cmd([json ? 'jlist' : 'ls']);
  }

  /**
   * PM2's equivalents. `--version` (and `--help`) connect to the God daemon and send it
   * getVersion, but print the package's version (the help) and exit without waiting for the
   * answer (lib/binaries/CLI.js); PM2 has no per-command help worth timing apart, so
   * `help`, `--help` and `exec --help` are all `pm2 --help`.
   */
  commandCmd(c: Command, name: string): Cmd {
    const args: Record<Command, string[]> = {
      ls: ['ls'],
      desc: ['describe', name],
      log: ['logs', name, '--lines', '10', '--nostream'],
      stop: ['stop', name],
      start: ['start', name],
      restart: ['restart', name],
      reset: ['reset', name],
      del: ['delete', name],
      version: ['--version'],
      help: ['--help'],
      'dash-help': ['--help'],
      'exec-help': ['--help'],
    };
    return this.cmd(args[c]);
  }

  async pids(): Promise<Map<string, number>> {
    const r = await runOk(this.cmd(['jlist']), 120_000);
    const list = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Array<{ name: string; pid: number; pm2_env?: { status?: string } }>;
    const m = new Map<string, number>();
    for (const p of list) {
      if (p.pid > 0 && p.pm2_env?.status === 'online') {
        m.set(p.name, p.pid);
        this.remember(p.pid);
      }
    }
    return m;
  }

  async remove(name: string): Promise<void> {
    await this.pids();
    await runOk(this.cmd(['delete', name]), 120_000);
  }

  async clear(): Promise<void> {
    await this.pids();
    await run(this.cmd(['delete', 'all']), 300_000); // exits non-zero when there is nothing to delete
  }

  async shutdown(): Promise<void> {
    await shutdownDaemon(
      this.pid,
      async () => {
        await this.pids().catch(() => undefined);
        await run(this.cmd(['kill']), 120_000);
      },
      10_000,
      this.seen,
    );
  }

  private remember(pid: number): void {
    rememberPid(this.seen, pid);
  }
}
