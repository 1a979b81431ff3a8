/**
 * Stopping a TestDaemon without leaving a timer behind: TestDaemon.terminate()
 * races pmond's exit against an uncleared 20 s setTimeout, which keeps the test
 * file's process alive 20 s after its last test. Ending pmond here first (same
 * steps: drop --force, SIGTERM, wait for the exit) lets stop() skip that race;
 * stop() still kills every pid it saw.
 */
import type { TestDaemon } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';

export async function stopDaemon(d: TestDaemon | undefined): Promise<void> {
  if (!d) return;
  const p = d.proc;
  if (p && p.exitCode === null && p.signalCode === null) {
    await d.run(['drop', '--force']).catch(() => undefined);
    process.kill(d.pid, 'SIGTERM');
    await waitFor('pmond to exit', () => p.exitCode !== null || p.signalCode !== null, 20_000, 20).catch(() => undefined);
  }
  await d.stop();
}
