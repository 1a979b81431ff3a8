/**
 * pmond: the pmon3 daemon. Runs in the foreground (systemd style).
 * Exit status: 0 after a clean shutdown, 2 for bad configuration, 1 otherwise.
 */
import { loadConfig } from '../../internal/config/config';
import { startDaemon } from '../../internal/daemon/daemon';
import { exitCodeFor } from '../../internal/protocol/errors';
import { VERSION } from '../../internal/version';

async function main(): Promise<void> {
  if (process.argv.includes('--version') || process.argv.includes('-v')) {
    process.stdout.write(`pmond ${VERSION}\n`);
    return;
  }
  const config = loadConfig();
  const daemon = await startDaemon(config, VERSION);
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
