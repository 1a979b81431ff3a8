import { Args, Flags } from '@oclif/core';
import { execute } from '../../../internal/cli/fast';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Stop extends PmonCommand {
  static override description = 'Stop a process by id or name (stop signal to its process group, SIGKILL after stop_timeout)';
  static override examples = ['<%= config.bin %> stop api', '<%= config.bin %> stop 3 --force'];
  static override args = { target: Args.string({ description: 'process id or name', required: true }) };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'SIGKILL at once' }) };

  async run(): Promise<ProcessView> {
    const { args, flags } = await this.parse(Stop);
    const { text, value } = await execute({ cmd: 'stop', json: this.jsonEnabled(), target: args.target, force: flags.force === true });
    this.say(text);
    return value as ProcessView;
  }
}
