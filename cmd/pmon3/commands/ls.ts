import { processTable } from '../../../internal/cli/render';
import { withClient } from '../../../internal/cli/session';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Ls extends PmonCommand {
  static override description = 'List all processes';
  static override aliases = ['list'];
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --json'];

  async run(): Promise<ProcessView[]> {
    await this.parse(Ls);
    const list = await withClient((c) => c.call('list', {}));
    this.say(processTable(list));
    return list;
  }
}
