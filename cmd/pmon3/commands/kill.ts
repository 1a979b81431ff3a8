import { Flags } from '@oclif/core';
import { processTable } from '../../../internal/cli/render';
import { withClient } from '../../../internal/cli/session';
import type { ProcessSummary } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Kill extends PmonCommand {
  static override description = 'Stop all your processes';
  static override examples = ['<%= config.bin %> kill', '<%= config.bin %> kill --force'];
  static override flags = { force: Flags.boolean({ char: 'f', description: 'SIGKILL at once' }) };

  async run(): Promise<ProcessSummary[]> {
    const { flags } = await this.parse(Kill);
    const list = await withClient((c) => c.call('kill', { force: flags.force === true }));
    this.say(processTable(list));
    return list;
  }
}
