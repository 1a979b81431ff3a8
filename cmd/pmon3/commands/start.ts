import { Args } from '@oclif/core';
import { execute } from '../../../internal/cli/fast';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Start extends PmonCommand {
  static override description = 'Start a stopped process by id or name (restarts a running one); not counted as a restart';
  static override examples = ['<%= config.bin %> start api'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };

  async run(): Promise<ProcessView> {
    const { args } = await this.parse(Start);
    const { text, value } = await execute({ cmd: 'restart', json: this.jsonEnabled(), target: args.target, count: false });
    this.say(text);
    return value as ProcessView;
  }
}
