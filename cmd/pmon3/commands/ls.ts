import { execute } from '../../../internal/cli/fast';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Ls extends PmonCommand {
  static override description = 'List all processes';
  static override aliases = ['list'];
  static override examples = ['<%= config.bin %> ls', '<%= config.bin %> ls --json'];

  async run(): Promise<ProcessView[]> {
    await this.parse(Ls);
    const { text, value } = await execute({ cmd: 'ls', json: this.jsonEnabled() });
    this.say(text);
    return value as ProcessView[];
  }
}
