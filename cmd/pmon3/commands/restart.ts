import { Args } from '@oclif/core';
import { execute } from '../../../internal/cli/fast';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Restart extends PmonCommand {
  static override description = '(Re)start a process by id or name; counts as a restart';
  static override examples = ['<%= config.bin %> restart api'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };

  async run(): Promise<ProcessView> {
    const { args } = await this.parse(Restart);
    const { text, value } = await execute({ cmd: 'restart', json: this.jsonEnabled(), target: args.target, count: true });
    this.say(text);
    return value as ProcessView;
  }
}
