/**
 * pmond: the pmon3 daemon. Runs in the foreground (systemd style).
 * Exit status: 0 after a clean shutdown, else the error's code (exitCodeFor):
 * 2 bad usage or configuration, 5 untrusted config or hook, 6 another pmond, 1 otherwise.
 *
 * pmond --check: a full integrity check of data_dir/data.db (read-only, also
 * while a pmond runs); prints `ok` or the problems; exit 0 / 1.
 * pmond -h/--help, -v/--version: print and exit 0; anything else on the
 * command line: one line on stderr naming it, exit 2 (args.ts).
 */
import { loadConfig } from '../../internal/config/config';
import { type RunningDaemon, startDaemon } from '../../internal/daemon/daemon';
import type { Logger } from '../../internal/logger/logger';
import { exitCodeFor } from '../../internal/protocol/errors';
import { checkDatabase } from '../../internal/store/store';
import { VERSION } from '../../internal/version';
import { parsePmondArgs, pmondUsage } from './args';

/** The daemon's logger once it exists; before that, stderr. */
let logger: Logger | undefined;

/**
 * A safety net, not the way errors are handled: an error nobody caught is
 * logged and pmond keeps supervising (its children must not lose their
 * supervisor to a bug in one code path).
 */
function report(what: string, e: unknown): void {
  const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
  try {
    if (logger) logger.error(`${what} (pmond keeps running): ${text.replace(/\s*\n\s*/g, ' | ')}`);
    else process.stderr.write(`pmond: ${what}: ${text}\n`);
  } catch {
    /* nowhere left to say it */
  }
}
process.on('unhandledRejection', (e) => report('unhandled rejection', e));
process.on('uncaughtException', (e) => report('uncaught exception', e));

async function main(): Promise<void> {
  const action = parsePmondArgs(process.argv.slice(2));
  if (action === 'help') {
    process.stdout.write(pmondUsage(VERSION));
    return;
  }
  if (action === 'version') {
    process.stdout.write(`pmond ${VERSION}\n`);
    return;
  }
  if (action === 'check') {
    const { ok, text } = checkDatabase(loadConfig().data_dir);
    process.stdout.write(`${text}\n`);
    process.exitCode = ok ? 0 : 1;
    return;
  }
  const config = loadConfig();
  // Every handler is in place before pmond starts: the socket answers while startDaemon is still
  // booting, and a signal in that window must not find the default action (SIGTSTP stops a pmond
  // in a process group that is not orphaned; SIGINT, SIGHUP and SIGQUIT end it). A SIGTERM or
  // SIGINT that comes before pmond is up is carried out as soon as it is.
  let daemon: RunningDaemon | undefined;
  let stopping: string | undefined;
  const shutdown = (d: RunningDaemon, sig: string): void => {
    d.logger.info(`received ${sig}`);
    d.shutdown(config.handle_interrupts).then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`pmond: shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = sig;
    if (daemon) shutdown(daemon, sig);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // A second defence against a terminal that became pmond's (every open of a user-named path is
  // O_NOCTTY, so none should): the signals a terminal sends besides ^C must not stop or end pmond.
  // A hangup of that terminal sends SIGHUP; ^Z sends SIGTSTP; reading or writing it from the
  // background, SIGTTIN/SIGTTOU; ^\ SIGQUIT (a core dump). pmond never reads a terminal, so
  // none of them asks anything of it: logged (a SIGHUP once per minute at most) and ignored.
  // Handled in JS rather than SIG_IGN: Node resets every disposition at start.
  let lastHup = 0;
  process.on('SIGHUP', () => {
    if (Date.now() - lastHup < 60_000) return;
    lastHup = Date.now();
    logger?.info('received SIGHUP (ignored; pmond stops on SIGTERM)');
  });
  process.on('SIGQUIT', () => logger?.info('received SIGQUIT (ignored; pmond stops on SIGTERM)'));
  for (const sig of ['SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const) process.on(sig, () => undefined);
  process.on('SIGPIPE', () => undefined);
  daemon = await startDaemon(config, VERSION);
  logger = daemon.logger;
  if (stopping) shutdown(daemon, stopping);
}

main().catch((e: unknown) => {
  process.stderr.write(`pmond: ${(e as Error).message}\n`);
  process.exit(exitCodeFor(e));
});
