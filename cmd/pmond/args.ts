/**
 * pmond's command line: a few flags and no arguments. Anything else is refused before
 * pmond reads its configuration or starts anything, so a typo never starts a daemon.
 */
import { invalidArgument } from '../../internal/protocol/errors';

/** What pmond was asked to do. */
export type PmondAction = 'run' | 'check' | 'help' | 'version';

const FLAGS: Readonly<Record<string, PmondAction>> = {
  '-h': 'help',
  '--help': 'help',
  '-v': 'version',
  '--version': 'version',
  '--check': 'check',
};

/** Precedence when several are given: help, then version, then check (as most tools do). */
const ORDER: readonly PmondAction[] = ['help', 'version', 'check', 'run'];

/**
 * The action for argv (process.argv.slice(2)). Throws INVALID_ARGUMENT (exit 2) naming the
 * first flag or argument pmond does not know. A lone `--` ends the flags; nothing may follow it.
 */
export function parsePmondArgs(argv: readonly string[]): PmondAction {
  const seen = new Set<PmondAction>(['run']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      const extra = argv[i + 1];
      if (extra !== undefined) throw invalidArgument(`unexpected argument ${JSON.stringify(extra)} (pmond takes no arguments; see pmond --help)`);
      break;
    }
    const action = Object.prototype.hasOwnProperty.call(FLAGS, a) ? FLAGS[a] : undefined;
    if (action) {
      seen.add(action);
      continue;
    }
    if (a.startsWith('-') && a !== '-') throw invalidArgument(`unknown flag ${JSON.stringify(a)} (see pmond --help)`);
    throw invalidArgument(`unexpected argument ${JSON.stringify(a)} (pmond takes no arguments; see pmond --help)`);
  }
  return ORDER.find((o) => seen.has(o))!;
}

/** pmond --help. */
export function pmondUsage(version: string): string {
  return `pmond ${version}: the pmon3 daemon. It starts, watches and restarts processes, serves
pmon3 on a Unix socket, and runs in the foreground until SIGTERM or SIGINT.

Usage: pmond [--check | -h | --help | -v | --version]

  --check        check data_dir/data.db in full, read-only (also while a pmond runs):
                 prints ok and exits 0, or the problems and exits 1
  -h, --help     print this help and exit
  -v, --version  print "pmond VERSION" and exit

Configuration: $PMON3_CONF, else /etc/pmond/config/config.yaml for root, else
$XDG_CONFIG_HOME/pmon3/config.yaml (~/.config/pmon3/config.yaml); a missing file means the
built-in defaults. As a user without a config, data and logs go to $XDG_STATE_HOME/pmon3
(~/.local/state/pmon3) and the socket to $XDG_RUNTIME_DIR/pmon3/pmon3.sock (else
/run/user/UID/pmon3, else the state directory), where a plain pmon3 finds it.

Exit status: 0 after a clean shutdown; else as pmon3's exit codes: 2 bad usage or configuration,
5 a config or hook a root pmond may not trust, 6 another pmond holds the socket or data_dir,
1 anything else.
`;
}
