import { Args } from '@oclif/core';
import { processTable } from '../../../internal/cli/render';
import { withClient } from '../../../internal/cli/session';
import type { ProcessSummary } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Reset extends PmonCommand {
  static override description = 'Reset the restart counter of one process, or of all your processes';
  static override examples = ['<%= config.bin %> reset', '<%= config.bin %> reset api'];
  static override args = { target: Args.string({ description: 'process id or name (default: all)', required: false }) };

  async run(): Promise<ProcessSummary[]> {
    const { args } = await this.parse(Reset);
    const list = await withClient((c) => c.call('reset', args.target !== undefined ? { target: args.target } : {}));
    this.say(processTable(list));
    return list;
  }
}
