import { Args, Flags } from '@oclif/core';
import { withClient } from '../../../internal/cli/session';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Del extends PmonCommand {
  static override description = 'Delete a process by id or name (stopping it first)';
  static override aliases = ['delete'];
  static override examples = ['<%= config.bin %> del api', '<%= config.bin %> delete 3 -f'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'SIGKILL at once instead of a graceful stop' }) };

  async run(): Promise<ProcessView> {
    const { args, flags } = await this.parse(Del);
    const p = await withClient((c) => c.call('delete', { target: args.target, force: flags.force === true }));
    this.say(`deleted ${p.name} (id ${p.id})`);
    return p;
  }
}
