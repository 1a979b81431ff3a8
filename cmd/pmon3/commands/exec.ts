import * as path from 'node:path';
import { Args, Flags } from '@oclif/core';
import { parseEnvVars, splitArgs } from '../../../internal/cli/args';
import { processTable } from '../../../internal/cli/render';
import { withClient } from '../../../internal/cli/session';
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
    const here = process.cwd();
    // oclif's `argv` is re-sorted by each word's first position (`-- b a b` → `b b a`);
    // `raw` keeps the input order, so the arguments are taken from it.
    const extra = raw.filter((t) => t.type === 'arg').map((t) => t.input).slice(1);
    const params = {
      file: path.resolve(here, args.binary),
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      args: [...(flags.args !== undefined ? splitArgs(flags.args) : []), ...extra],
      env: flags['env-vars'] !== undefined ? parseEnvVars(flags['env-vars']) : {},
      cwd: path.resolve(here, flags.cwd ?? '.'),
      ...(flags.user !== undefined ? { user: flags.user } : {}),
      ...(flags.log !== undefined ? { log: path.resolve(here, flags.log) } : {}),
      ...(flags['log-dir'] !== undefined ? { log_dir: path.resolve(here, flags['log-dir']) } : {}),
      auto_restart: !flags['no-autorestart'],
    };
    const p = await withClient((c) => c.call('exec', params));
    this.say(processTable([p]));
    return p;
  }
}
