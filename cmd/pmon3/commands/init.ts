import { processTable } from '../../../internal/cli/render';
import { withClient } from '../../../internal/cli/session';
import type { ProcessSummary } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Init extends PmonCommand {
  static override description = 'Start all your stopped or failed processes';
  static override examples = ['<%= config.bin %> init'];

  async run(): Promise<ProcessSummary[]> {
    await this.parse(Init);
    const list = await withClient((c) => c.call('init', {}));
    this.say(processTable(list));
    return list;
  }
}
