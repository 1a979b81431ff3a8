import { Args, Flags } from '@oclif/core';
import { withClient } from '../../../internal/cli/session';
import { PmonCommand } from '../base';

export default class Log extends PmonCommand {
  static override description = 'Display the last lines of a process log by id or name';
  static override examples = ['<%= config.bin %> log api', '<%= config.bin %> log api -n 100'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };
  static override flags = { lines: Flags.integer({ char: 'n', description: 'how many lines', default: 10, min: 0, max: 100000 }) };

  async run(): Promise<{ path: string; text: string }> {
    const { args, flags } = await this.parse(Log);
    const r = await withClient((c) => c.call('log', { target: args.target, lines: flags.lines, follow: false }));
    if (!this.jsonEnabled() && r.text) process.stdout.write(r.text.endsWith('\n') ? r.text : `${r.text}\n`);
    return r;
  }
}
