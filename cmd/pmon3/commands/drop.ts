import { Flags } from '@oclif/core';
import { withClient } from '../../../internal/cli/session';
import type { ProcessSummary } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Drop extends PmonCommand {
  static override description = 'Stop and delete all your processes';
  static override examples = ['<%= config.bin %> drop', '<%= config.bin %> drop --force'];
  static override flags = { force: Flags.boolean({ char: 'f', description: 'SIGKILL at once instead of a graceful stop' }) };

  async run(): Promise<ProcessSummary[]> {
    const { flags } = await this.parse(Drop);
    const list = await withClient((c) => c.call('drop', { force: flags.force === true }));
    this.say(`deleted ${list.length} process${list.length === 1 ? '' : 'es'}`);
    return list;
  }
}
