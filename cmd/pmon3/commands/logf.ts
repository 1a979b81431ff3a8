import { Args, Flags } from '@oclif/core';
import { withClient } from '../../../internal/cli/session';
import { PmonCommand } from '../base';

export default class Logf extends PmonCommand {
  static override description = 'Follow a process log by id or name (like tail -f) until Ctrl-C';
  static override examples = ['<%= config.bin %> logf api', '<%= config.bin %> logf api -n 0'];
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
      // With --json each chunk is one JSON line: {"data": "..."}.
      await c.call(
        'log',
        { target: args.target, lines: flags.lines, follow: true },
        { onEvent: (d) => process.stdout.write(json ? `${JSON.stringify({ data: d })}\n` : d) },
      );
    });
  }
}
