import { Args } from '@oclif/core';
import { execute } from '../../../internal/cli/fast';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Desc extends PmonCommand {
  static override description = 'Show process information by id or name';
  static override aliases = ['show'];
  static override examples = ['<%= config.bin %> desc api', '<%= config.bin %> show 3 --json'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };

  async run(): Promise<ProcessView> {
    const { args } = await this.parse(Desc);
    const { text, value } = await execute({ cmd: 'desc', json: this.jsonEnabled(), target: args.target });
    this.say(text);
    return value as ProcessView;
  }
}
