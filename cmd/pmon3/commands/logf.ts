import * as fs from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { cliNative, withClient } from '../../../internal/cli/session';
import { PmonCommand } from '../base';

export default class Logf extends PmonCommand {
  static override description = 'Follow a process log by id or name (like tail -f) until Ctrl-C';
  static override examples = ['<%= config.bin %> logf api', '<%= config.bin %> logf api -n 0', '<%= config.bin %> logf api | head -1'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };
  static override flags = { lines: Flags.integer({ char: 'n', description: 'lines of history to show first', default: 10, min: 0, max: 100000 }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logf);
    const json = this.jsonEnabled();
    await withClient(async (c) => {
      const stop = (): void => {
        c.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // `pmon3 logf x | head -1`: when the reader of stdout goes away, end quietly and at once —
      // on the next write (EPIPE) or, while the log is quiet, when a poll of stdout says so.
      process.stdout.on('error', stop);
      if (stdoutIsPipe()) {
        const native = cliNative();
        setInterval(() => native.pollErr(1) && stop(), 200).unref();
      }
      // With --json each chunk is one JSON line: {"data": "..."}.
      await c.call(
        'log',
        { target: args.target, lines: flags.lines, follow: true },
        { onEvent: (d) => process.stdout.write(json ? `${JSON.stringify({ data: d })}\n` : d) },
      );
    });
  }
}

/** Whether fd 1 is a pipe or a socket (whose reader can go away). */
function stdoutIsPipe(): boolean {
  try {
    const st = fs.fstatSync(1);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}
