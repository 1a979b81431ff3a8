import { Args } from '@oclif/core';
import { processTable } from '../../../internal/cli/render';
import { withClient } from '../../../internal/cli/session';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Start extends PmonCommand {
  static override description = 'Start a stopped process by id or name (restarts a running one); not counted as a restart';
  static override examples = ['<%= config.bin %> start api'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };

  async run(): Promise<ProcessView> {
    const { args } = await this.parse(Start);
    const p = await withClient((c) => c.call('restart', { target: args.target, count: false }));
    this.say(processTable([p]));
    return p;
  }
}
