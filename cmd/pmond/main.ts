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
import { startDaemon } from '../../internal/daemon/daemon';
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
  const daemon = await startDaemon(config, VERSION);
  logger = daemon.logger;
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    daemon.logger.info(`received ${sig}`);
    daemon.shutdown(config.handle_interrupts).then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`pmond: shutdown failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => daemon.logger.info('received SIGHUP (ignored)'));
  process.on('SIGPIPE', () => undefined);
}

main().catch((e: unknown) => {
  process.stderr.write(`pmond: ${(e as Error).message}\n`);
  process.exit(exitCodeFor(e));
});
