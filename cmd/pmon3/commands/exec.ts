import { Args, Flags } from '@oclif/core';
import { execute } from '../../../internal/cli/fast';
import type { ProcessView } from '../../../internal/protocol/methods';
import { PmonCommand } from '../base';

export default class Exec extends PmonCommand {
  static override description = 'Spawn a new process and keep it running';
  static override aliases = ['run'];
  static override strict = false;
  static override examples = [
    '<%= config.bin %> exec ./bin/server --name api --args "-port=8080 -env=prod"',
    '<%= config.bin %> exec /usr/bin/python3 --name worker -e "QUEUE=jobs" -- worker.py --verbose',
    '<%= config.bin %> exec ./job.sh --no-autorestart --log /var/log/job.log',
  ];
  static override args = {
    binary: Args.string({ description: 'binary to run (relative paths resolve against the current directory)', required: true }),
  };
  static override flags = {
    name: Flags.string({ description: 'process name (default: the binary\'s file name)' }),
    args: Flags.string({ char: 'a', description: 'arguments, split with shell-like quoting (never run by a shell)' }),
    'env-vars': Flags.string({ char: 'e', description: 'environment variables, "A=1 B=\'two words\'"' }),
    user: Flags.string({ char: 'u', description: 'user to run as (default: you)' }),
    log: Flags.string({ char: 'l', description: 'log file (default: <logs_dir>/<name>.log)' }),
    'log-dir': Flags.string({ char: 'd', description: 'directory for the log file' }),
    'no-autorestart': Flags.boolean({ char: 'n', description: 'do not restart the process when it exits' }),
    cwd: Flags.string({ description: 'working directory (default: the current directory)' }),
  };

  async run(): Promise<ProcessView> {
    const { args, flags, raw } = await this.parse(Exec);
    // oclif's `argv` is re-sorted by each word's first position (`-- b a b` → `b b a`);
    // `raw` keeps the input order, so the arguments are taken from it.
    const extra = raw.filter((t) => t.type === 'arg').map((t) => t.input).slice(1);
    const exec = {
      binary: args.binary,
      extra,
      name: flags.name,
      args: flags.args,
      envVars: flags['env-vars'],
      user: flags.user,
      log: flags.log,
      logDir: flags['log-dir'],
      cwd: flags.cwd,
      noAutorestart: flags['no-autorestart'] === true,
    };
    const { text, value } = await execute({ cmd: 'exec', json: this.jsonEnabled(), exec });
    this.say(text);
    return value as ProcessView;
  }
}
