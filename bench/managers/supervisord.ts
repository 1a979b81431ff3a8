/**
 * supervisord (Debian's `supervisor`) in the foreground (-n) with its own
 * config in a temp dir: a unix_http_server socket there, no inet_http_server,
 * programs in included files. supervisorctl talks to it over that socket.
 * supervisord has no command that starts a new ad-hoc program; the CLI
 * start workload writes one program file and runs `supervisorctl update NAME`,
 * which is how one adds a program to a running supervisord.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alive, run, runOk, waitFor, type Cmd, type ProcRef } from '../lib/proc';
import { rememberPid, shutdownDaemon, type Command, type FileApps, type Manager, type ProgramSpec } from './manager';

export const SUPERVISORD = '/usr/bin/supervisord';
export const SUPERVISORCTL = '/usr/bin/supervisorctl';

export class Supervisord implements Manager {
  readonly name = 'supervisord';
  private proc?: ChildProcess;
  private pid = 0;
  private readonly conf: string;
  private readonly progs: string;
  private readonly logs: string;
  private readonly seen = new Map<number, ProcRef>();
  private batch = 0;

  /**
   * inet: also an inet_http_server on 127.0.0.1:port with that user and password (its XML-RPC
   * and its web page), for the http workload only; every other supervisord has none.
   */
  constructor(
    private readonly dir: string,
    private readonly inet?: { port: number; username: string; password: string },
  ) {
    this.conf = path.join(dir, 'supervisord.conf');
    this.progs = path.join(dir, 'programs');
    this.logs = path.join(dir, 'logs');
    fs.mkdirSync(this.progs, { recursive: true });
    fs.mkdirSync(this.logs, { recursive: true });
  }

  private ctl(args: string[]): Cmd {
    return { file: SUPERVISORCTL, args: ['-c', this.conf, ...args] };
  }

  async start(): Promise<void> {
    const sock = path.join(this.dir, 's.sock');
    fs.writeFileSync(
      this.conf,
      [
        '[unix_http_server]',
        `file=${sock}`,
        'chmod=0700',
        ...(this.inet ? ['[inet_http_server]', `port=127.0.0.1:${this.inet.port}`, `username=${this.inet.username}`, `password=${this.inet.password}`] : []),
        '[supervisord]',
        `logfile=${path.join(this.dir, 'supervisord.log')}`,
        `pidfile=${path.join(this.dir, 'supervisord.pid')}`,
        `childlogdir=${this.logs}`,
        'minfds=8192',
        'minprocs=4096',
        '[rpcinterface:supervisor]',
        'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
        '[supervisorctl]',
        `serverurl=unix://${sock}`,
        '[include]',
        `files = ${path.join(this.progs, '*.conf')}`,
        '',
      ].join('\n'),
    );
    const out = fs.openSync(path.join(this.dir, 'supervisord.out'), 'a');
    try {
      this.proc = spawn(SUPERVISORD, ['-n', '-c', this.conf], { stdio: ['ignore', out, out] });
    } finally {
      fs.closeSync(out);
    }
    this.pid = this.proc.pid!;
    this.remember(this.pid);
    await waitFor('supervisord to answer', async () => {
      if (!alive(this.pid)) throw new Error('supervisord exited at start (see supervisord.out)');
      return (await run(this.ctl(['pid']))).code === 0;
    }, 30_000, 100);
  }

  daemonPid(): number {
    return this.pid;
  }

  /** One file of program sections; `update` loads it (and starts autostart ones); `start all` starts the rest. */
  readonly fileApps: FileApps = {
    writeApps: async (specs, autostart) => {
      fs.writeFileSync(path.join(this.progs, 'apps.conf'), specs.map((s) => this.section(s, autostart)).join('\n'));
      if (!autostart) {
        await runOk(this.ctl(['update']), 300_000);
        const want = specs.map((s) => s.name);
        await waitFor(`${specs.length} supervisord programs loaded`, async () => {
          const out = (await run(this.ctl(['status']))).stdout;
          return want.every((n) => out.includes(`${n} `));
        }, 120_000, 200);
      }
    },
    startCmd: () => this.ctl(['start', 'all']),
    convergeCmd: () => this.ctl(['update']),
  };

  /**
   * One [program:x] section. startsecs=0: running once spawned, as pmon3 and
   * PM2 count it (with the default 1 s a kill within a second is a failed
   * start, with backoff). Arguments are plain words (asserted), since
   * supervisord splits `command` itself.
   */
  private section(s: ProgramSpec, autostart = true): string {
    const argv = s.node ? [process.execPath, s.file, ...s.args] : [s.file, ...s.args];
    for (const a of argv) if (!/^[A-Za-z0-9_./=:-]+$/.test(a)) throw new Error(`supervisord command word needs quoting: ${a}`);
    return [
      `[program:${s.name}]`,
      `command=${argv.join(' ')}`,
      `directory=${this.dir}`,
      `autostart=${autostart}`,
      'autorestart=true',
      ...(s.env ? [`environment=${Object.entries(s.env).map(([k, v]) => `${k}="${v}"`).join(',')}`] : []),
      'startsecs=0',
      'stopwaitsecs=3',
      'redirect_stderr=true',
      `stdout_logfile=${s.log ?? path.join(this.logs, `${s.name}.log`)}`,
      ...(s.rotate ? [`stdout_logfile_maxbytes=${s.rotate.mib}MB`, `stdout_logfile_backups=${s.rotate.keep}`] : ['stdout_logfile_maxbytes=0']),
      '',
    ].join('\n');
  }

  async startMany(specs: ProgramSpec[]): Promise<void> {
    // One program: its own file, so remove() can take it out alone.
    const file = specs.length === 1 ? `${specs[0]!.name}.conf` : `batch-${++this.batch}.conf`;
    fs.writeFileSync(path.join(this.progs, file), specs.map((s) => this.section(s)).join('\n'));
    await runOk(this.ctl(['update']), 300_000);
    const want = specs.map((s) => s.name);
    await waitFor(`${specs.length} supervisord programs RUNNING`, async () => {
      const running = await this.pids();
      return want.every((n) => running.has(n));
    }, 120_000, 200);
  }

  cliStart(spec: ProgramSpec): { prepare: () => void; cmd: Cmd } {
    return {
      prepare: () => fs.writeFileSync(path.join(this.progs, `${spec.name}.conf`), this.section(spec)),
      cmd: this.ctl(['update', spec.name]),
    };
  }

  listCmd(json: boolean): Cmd | undefined {
    return json ? undefined : this.ctl(['status']);
  }

  /**
   * supervisorctl's equivalents where there is an obvious one: `status NAME` for desc,
   * `tail NAME` (the last 1600 bytes, not lines) for log, `version` (asks supervisord over
   * its socket), `help`, `--help`. No del (a program leaves with its config file and
   * `update`), no reset (no restart counter), no exec and so no `exec --help`.
   */
  commandCmd(c: Command, name: string): Cmd | undefined {
    const args: Partial<Record<Command, string[]>> = {
      ls: ['status'],
      desc: ['status', name],
      log: ['tail', name],
      stop: ['stop', name],
      start: ['start', name],
      restart: ['restart', name],
      version: ['version'],
      help: ['help'],
      'dash-help': ['--help'],
    };
    const a = args[c];
    return a && this.ctl(a);
  }

  async pids(): Promise<Map<string, number>> {
    const r = await run(this.ctl(['status']), 120_000); // exit 3 while some program is not RUNNING
    const m = new Map<string, number>();
    for (const line of r.stdout.split('\n')) {
      const f = /^(\S+)\s+RUNNING\s+pid (\d+),/.exec(line);
      if (f) {
        m.set(f[1]!, Number(f[2]));
        this.remember(Number(f[2]));
      }
    }
    return m;
  }

  async remove(name: string): Promise<void> {
    await this.pids();
    await run(this.ctl(['stop', name]), 60_000);
    fs.rmSync(path.join(this.progs, `${name}.conf`), { force: true });
    await runOk(this.ctl(['update']), 120_000);
  }

  async clear(): Promise<void> {
    await this.pids();
    // `stop all` signals every program at once; `update` alone would stop removed groups one by one,
    // each waiting for supervisord's 1 s main-loop tick (100 programs: 80 s).
    await run(this.ctl(['stop', 'all']), 300_000);
    for (const f of fs.readdirSync(this.progs)) fs.unlinkSync(path.join(this.progs, f));
    await runOk(this.ctl(['update']), 300_000);
    await waitFor('supervisord to drop every program', async () => (await run(this.ctl(['status']))).stdout.trim() === '', 60_000, 200);
  }

  async shutdown(): Promise<void> {
    await shutdownDaemon(
      this.pid,
      async () => {
        await this.pids().catch(() => undefined);
        await run(this.ctl(['shutdown']), 60_000);
      },
      20_000,
      this.seen,
    );
  }

  private remember(pid: number): void {
    rememberPid(this.seen, pid);
  }
}
