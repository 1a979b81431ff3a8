import { Args } from '@oclif/core';
import { processTable } from '../../../internal/cli/render';
import { withClient } from '../../../internal/cli/session';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Restart extends PmonCommand {
  static override description = '(Re)start a process by id or name; counts as a restart';
  static override examples = ['<%= config.bin %> restart api'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };

  async run(): Promise<ProcessView> {
    const { args } = await this.parse(Restart);
    const p = await withClient((c) => c.call('restart', { target: args.target, count: true }));
    this.say(processTable([p]));
    return p;
  }
}
