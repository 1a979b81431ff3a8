import { Args } from '@oclif/core';
import { completionScript, SHELLS, type Shell } from '../../../internal/cli/completion';
import { PmonCommand } from '../base';

export default class Completion extends PmonCommand {
  static override description =
    'Print the shell completion script for bash, zsh or fish (commands, flags, and process names from the running pmond)';
  static override examples = [
    '<%= config.bin %> completion bash > ~/.local/share/bash-completion/completions/pmon3',
    '<%= config.bin %> completion zsh > "${fpath[1]}/_pmon3"',
    'source <(<%= config.bin %> completion bash)',
    '<%= config.bin %> completion fish > ~/.config/fish/completions/pmon3.fish',
  ];
  static override args = { shell: Args.string({ description: 'the shell', options: [...SHELLS], required: true }) };

  async run(): Promise<{ shell: Shell; script: string }> {
    const { args } = await this.parse(Completion);
    const shell = args.shell as Shell;
    const script = completionScript(shell);
    if (!this.jsonEnabled()) process.stdout.write(script);
    return { shell, script };
  }
}
