/**
 * The base of every pmon3 command: --json on all of them, and the one place
 * where errors become one line on stderr (and a JSON error on stdout with
 * --json) and an exit status from the closed set (internal/protocol/errors).
 */
import { Command } from '@oclif/core';
import { printable } from '../../internal/cli/render';
import { exitCodeFor, PmonError, toWireError } from '../../internal/protocol/errors';

export abstract class PmonCommand extends Command {
  static override enableJsonFlag = true;

  /** Print human text unless --json is on. */
  protected say(text: string): void {
    if (!this.jsonEnabled()) this.log(text);
  }

  override async catch(err: Error & { oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own errors (bad flags, --help, exit) keep oclif's handling and exit codes.
    if (!(err instanceof PmonError) && err.oclif !== undefined) throw err;
    const wire = toWireError(err);
    process.stderr.write(`pmon3: ${printable(wire.message)}\n`);
    if (this.jsonEnabled()) this.logJson({ error: wire });
    return this.exit(exitCodeFor(err));
  }
}
