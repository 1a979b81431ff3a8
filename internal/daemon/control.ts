/**
 * `pmon3 daemon start|status|stop`: a pmond of one's own, by hand, with the caller's
 * default configuration (internal/config: PMON3_CONF, else the per-user or system
 * defaults), the same one a plain `pmon3` then finds. Each handler returns the line a
 * person reads (text) and what --json prints (value); errors are PmonErrors, so the
 * CLI's one error path gives them their exit codes.
 *
 * - start: bin/pmond, detached (a session of its own, cwd /, stdin and stdout closed),
 *   waited for with a deadline until it answers ping with its own pid. What it says on
 *   stderr while starting is kept for the error if it exits instead; once it answers,
 *   that pipe is closed (pmond ignores EPIPE) and everything it says is in
 *   logs_dir/pmond.log. With foreground, pmond runs attached instead, until it exits.
 * - status: whether a pmond answers on the configured socket, and what it says.
 *   Not running is an answer ({running: false}), not an error.
 * - stop: SIGTERM to the pid pmond reports in ping (when the kernel, SO_PEERCRED, agrees
 *   that this pid is the one serving the socket), then a deadline until that process has
 *   exited: pmond removes its socket first, then stops its processes as
 *   handle_interrupts says, then exits, so the socket is gone by then.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '../client/client';
import { loadConfig, resolveConfigEnv, type Config } from '../config/config';
import { loadNative, type Native, socketFd } from '../native';
import { isSameProcess, readStartTime } from '../process/procfs';
import { EXIT_CODES, type ErrorCode, failedPrecondition, internal, PmonError, permissionDenied, unavailable } from '../protocol/errors';

/** What the handlers may be told instead of this process's own (tests; the CLI passes nothing). */
export interface ControlContext {
  /** Environment the configuration is resolved from and pmond is started with (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The pmond program (default bin/pmond of this tree). */
  pmond?: string;
  /** How long start waits for pmond to answer, in ms (default 20000). */
  startTimeoutMs?: number;
}

/** A pmond as status reports it (the --json value of every handler). */
export interface DaemonState {
  /** Whether a pmond answers on socket. */
  running: boolean;
  /** Its pid (after stop: the pid that was stopped), or null. */
  pid: number | null;
  /** Its version (after stop: the stopped one's), or null. */
  version: string | null;
  /** The socket pmon3 talks to it on (socket_path). */
  socket: string;
  /** Its database's directory. */
  data_dir: string;
  /** Its log directory (pmond.log and the processes' logs). */
  logs_dir: string;
  /** The configuration file these paths come from (it may not exist: defaults). */
  config: string;
}

/** What a handler gives the CLI. */
export interface ControlResult {
  /** One line for a person. */
  text: string;
  /** What --json prints. */
  value: DaemonState;
}

/** What a pmond that answered said, and who the kernel says it is. */
interface Answer {
  version: string;
  pid: number;
  /** The serving process's pid as the kernel reports it (SO_PEERCRED). */
  peerPid: number;
}

/**
 * The root of the installed tree: three levels above this file in dist/, or beside
 * argv[1]'s bin/ (the CLI's bundles live elsewhere in dist/).
 */
function treeRoot(): string {
  const candidates = [path.join(__dirname, '..', '..', '..')];
  if (process.argv[1]) {
    try {
      candidates.push(path.join(path.dirname(fs.realpathSync(process.argv[1])), '..'));
    } catch {
      /* not a file */
    }
  }
  return candidates.find((c) => fs.existsSync(path.join(c, 'bin', 'pmond'))) ?? candidates[0]!;
}

function configFor(ctx: ControlContext): Config {
  return loadConfig(resolveConfigEnv(process.getuid?.() ?? 0, ctx.env ?? process.env));
}

/** The value of a result: what pmond answered (a), and whether it still runs. */
function state(cfg: Config, a: Answer | null, running = a !== null): DaemonState {
  return {
    running,
    pid: a?.pid ?? null,
    version: a?.version ?? null,
    socket: cfg.socket_path,
    data_dir: cfg.data_dir,
    logs_dir: cfg.logs_dir,
    config: cfg.config_path,
  };
}

/** The addon, loaded at the first ask (start asks every 50 ms while pmond starts). */
let native: Native | undefined;

/**
 * Ping the configured socket: the answer, or null when nothing answers there. A server
 * that is neither root nor the caller is refused before a byte is sent (PERMISSION_DENIED),
 * as every pmon3 command does.
 */
async function ask(cfg: Config): Promise<Answer | null> {
  const me = process.getuid?.() ?? 0;
  let peerPid = -1;
  let client: Client;
  try {
    client = await Client.connect(cfg.socket_path, {
      timeoutMs: 2000,
      idleMs: cfg.client_timeout * 1000,
      verifyPeer: (s) => {
        const fd = socketFd(s);
        let cred: { pid: number; uid: number };
        try {
          if (fd === undefined) throw new Error('no file descriptor');
          native ??= loadNative(treeRoot());
          cred = native.getPeerCred(fd);
        } catch (e) {
          throw permissionDenied(`cannot tell who serves ${cfg.socket_path} (${(e as Error).message}); not sending anything`);
        }
        if (cred.uid !== 0 && cred.uid !== me) {
          throw permissionDenied(`${cfg.socket_path} is served by uid ${cred.uid}, neither root nor you (uid ${me}); not sending anything`);
        }
        peerPid = cred.pid;
      },
    });
  } catch (e) {
    if (e instanceof PmonError && e.code === 'UNAVAILABLE') return null;
    throw e;
  }
  try {
    const r = await client.call('ping', {});
    return { version: r.version, pid: r.pid, peerPid };
  } catch (e) {
    if (e instanceof PmonError && e.code === 'UNAVAILABLE') return null; // closed on us: going away
    throw e;
  } finally {
    client.close();
  }
}

/** The error code whose exit status pmond exited with (so `pmon3 daemon start` exits as pmond did). */
function codeForStatus(status: number | null): ErrorCode {
  const found = (Object.entries(EXIT_CODES) as Array<[ErrorCode, number]>).find(([, n]) => n === status);
  return found ? found[0] : 'INTERNAL';
}

/** pmond's last line on stderr, without its "pmond: " (its one-line error). */
function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? '').replace(/^pmond: /, '');
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** pmond attached: stdio inherited, SIGINT/SIGTERM passed on, until it exits. */
async function runForeground(bin: string, env: NodeJS.ProcessEnv, cfg: Config): Promise<ControlResult> {
  const child = spawn(bin, [], { env, stdio: 'inherit' });
  const pass = (sig: NodeJS.Signals) => () => child.kill(sig);
  const onInt = pass('SIGINT');
  const onTerm = pass('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      // An 'error' before the spawn (ENOENT, EACCES) means 'exit' never comes.
      child.once('error', (e) => reject(unavailable(`cannot start ${bin}: ${e.message}`)));
      child.once('exit', (c, s) => resolve({ code: c, signal: s }));
    });
    if (code !== 0) throw new PmonError(codeForStatus(code), `pmond exited ${signal ? `on ${signal}` : `with status ${code}`}`);
    return { text: `pmond (pid ${child.pid}) stopped`, value: { ...state(cfg, null), pid: child.pid ?? null } };
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/**
 * Start pmond with the caller's configuration and wait until it answers. Already running:
 * FAILED_PRECONDITION. Exits while starting: its one-line error, with its exit status's code.
 * `json` only says how the caller prints the result; it changes nothing here.
 */
export async function daemonStart(o: { json: boolean; foreground?: boolean }, ctx: ControlContext = {}): Promise<ControlResult> {
  const cfg = configFor(ctx);
  const running = await ask(cfg);
  if (running) throw failedPrecondition(`pmond ${running.version} is already running (pid ${running.pid}), socket ${cfg.socket_path}`);
  const bin = ctx.pmond ?? path.join(treeRoot(), 'bin', 'pmond');
  const env = ctx.env ?? process.env;
  if (o.foreground) return runForeground(bin, env, cfg);

  const child = spawn(bin, [], { env, cwd: '/', detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-16384);
  });
  // Set by the child's events; read by the loop below.
  const end: { v: { code: number | null; signal: NodeJS.Signals | null } | { error: Error } | null } = { v: null };
  child.once('error', (e) => (end.v = { error: e })); // before the spawn: no 'exit' follows
  child.once('exit', (code, signal) => (end.v = { code, signal }));
  const gone = new Promise<void>((r) => child.once('close', () => r()));
  const timeoutMs = ctx.startTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = end.v;
    if (now !== null) {
      if ('error' in now) throw unavailable(`cannot start ${bin}: ${now.error.message}`);
      await Promise.race([gone, pause(1000)]); // the rest of its stderr
      const why = lastLine(stderr);
      const how = now.signal ? `on ${now.signal}` : `with status ${now.code}`;
      throw new PmonError(codeForStatus(now.code), `pmond exited at start ${how}${why ? `: ${why}` : ''}`);
    }
    const a = await ask(cfg);
    if (a && a.pid === child.pid) {
      child.stderr!.destroy();
      child.unref();
      return { text: `pmond ${a.version} started (pid ${a.pid}), socket ${cfg.socket_path}`, value: state(cfg, a) };
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      await Promise.race([gone, pause(5000)]);
      if (end.v === null) child.kill('SIGKILL');
      const why = lastLine(stderr);
      throw unavailable(
        `pmond (pid ${child.pid}) did not answer on ${cfg.socket_path} within ${timeoutMs / 1000} s and was stopped${why ? `; it said: ${why}` : ''}`,
      );
    }
    await pause(50);
  }
}

/** Whether a pmond answers on the configured socket, with its pid, version and paths. */
export async function daemonStatus(ctx: ControlContext = {}): Promise<ControlResult> {
  const cfg = configFor(ctx);
  const a = await ask(cfg);
  const text = a
    ? `pmond ${a.version} running (pid ${a.pid}), socket ${cfg.socket_path}, data_dir ${cfg.data_dir}`
    : `pmond not running (socket ${cfg.socket_path}, data_dir ${cfg.data_dir})`;
  return { text, value: state(cfg, a) };
}

/**
 * Ask the configured pmond to exit (SIGTERM) and wait until its socket is gone and it has
 * exited. Not running: FAILED_PRECONDITION. Someone else's pmond (root's, for a user):
 * PERMISSION_DENIED. Still there after stop_timeout + 20 s: INTERNAL, pmond left running.
 */
export async function daemonStop(ctx: ControlContext = {}): Promise<ControlResult> {
  const cfg = configFor(ctx);
  const a = await ask(cfg);
  if (!a) throw failedPrecondition(`pmond is not running (socket ${cfg.socket_path})`);
  // In another pid namespace the pid pmond knows itself by is not ours to signal.
  if (a.peerPid > 0 && a.peerPid !== a.pid) {
    throw failedPrecondition(`pmond on ${cfg.socket_path} reports pid ${a.pid} but the kernel says pid ${a.peerPid} serves it (another pid namespace?); not signalling either`);
  }
  const startTime = readStartTime(a.pid);
  try {
    process.kill(a.pid, 'SIGTERM');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw permissionDenied(`pmond (pid ${a.pid}) on ${cfg.socket_path} is not yours to stop`);
    if (code !== 'ESRCH') throw e; // ESRCH: it exited meanwhile
  }
  const ms = cfg.stop_timeout * 1000 + 20_000;
  const deadline = Date.now() + ms;
  // pmond removes its socket first and exits last; once it has exited, a socket file still
  // there was left by a pmond that died on the way (SIGKILL), and the next pmond removes it.
  const exited = (): boolean => startTime === null || !isSameProcess(a.pid, startTime);
  while (!exited()) {
    if (Date.now() > deadline) {
      throw internal(`pmond (pid ${a.pid}) was sent SIGTERM but has not exited within ${ms / 1000} s; see ${path.join(cfg.logs_dir, 'pmond.log')}`);
    }
    await pause(50);
  }
  const left = fs.existsSync(cfg.socket_path) ? ` (it left its socket ${cfg.socket_path} behind)` : '';
  return { text: `pmond ${a.version} stopped (pid ${a.pid})${left}`, value: state(cfg, a, false) };
}
