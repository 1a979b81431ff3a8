/**
 * The command table: every pmon3 command declared once — name, aliases,
 * arguments, flags (short forms, types, defaults), help text, examples and
 * what `--json` prints. The parser (parse.ts), `--help` and `help CMD`
 * (help.ts), shell completion (completion.ts) and the README's command table
 * (doc.ts, checked by a test) are all made from it; the handlers
 * (internal/cli/handlers) are looked up by the command's name.
 *
 * Data only: this file imports nothing, so the CLI's start-up snapshot holds
 * it for free and every consumer reads the same object.
 */

/** What a flag's value or an argument takes, for parsing and completion. */
export type ValueKind =
  /** A process: id, name, user/name, or `all` where the command allows it. */
  | 'process'
  /** A path (the shell completes file names). */
  | 'file'
  /** A local user name. */
  | 'user'
  /** Anything (no completion). */
  | 'free'
  /** One of `values`. */
  | 'choice';

/** One flag of a command. */
export interface FlagDef {
  /** Long name, without the leading `--`. */
  readonly long: string;
  /** One-letter name, without the leading `-`. */
  readonly short?: string;
  /** Other long names it answers to (the Go pmon3's spellings, e.g. log_dir). */
  readonly alsoLong?: readonly string[];
  /** boolean: present or not; string/integer: takes the next word (or `--long=value`). */
  readonly type: 'boolean' | 'string' | 'integer';
  /** What the value is, for completion (string and integer flags). */
  readonly kind?: ValueKind;
  /** The value's placeholder in help, e.g. NAME. */
  readonly placeholder?: string;
  /** Allowed values (kind 'choice'). */
  readonly values?: readonly string[];
  /** Default, shown in help and applied by the parser. */
  readonly default?: string | number | boolean;
  /** Integer bounds. */
  readonly min?: number;
  readonly max?: number;
  /** May be given more than once; the values are kept in order. */
  readonly multiple?: boolean;
  /** One line for help. */
  readonly description: string;
}

/** One positional argument. */
export interface ArgDef {
  /** Its name, upper-cased in help (BINARY, TARGET). */
  readonly name: string;
  readonly kind: ValueKind;
  readonly values?: readonly string[];
  readonly required: boolean;
  /** Takes every remaining positional word. */
  readonly variadic?: boolean;
  /** One line for help. */
  readonly description: string;
}

/** One command. */
export interface CommandDef {
  readonly name: string;
  /** Other names it answers to. */
  readonly aliases: readonly string[];
  /** One line: the command list in `pmon3 help` and the README. */
  readonly summary: string;
  /** More, for `pmon3 help CMD` (optional). */
  readonly description?: string;
  readonly args: readonly ArgDef[];
  readonly flags: readonly FlagDef[];
  /** Words after `--` are collected as the command's `rest` (exec: the program's arguments). */
  readonly passThrough?: boolean;
  /** Example command lines, without the leading `pmon3 `. */
  readonly examples: readonly string[];
  /** What `--json` prints on stdout. */
  readonly json: string;
}

/** Flags every command takes. */
export const GLOBAL_FLAGS: readonly FlagDef[] = [
  { long: 'json', type: 'boolean', description: 'print the result as JSON on stdout (errors too: {"error": {"code", "message"}})' },
  { long: 'no-color', type: 'boolean', description: 'no colours (also NO_COLOR=1; output that is not a terminal never has any)' },
  { long: 'help', short: 'h', type: 'boolean', description: 'show this help' },
  {
    long: 'host',
    type: 'string',
    kind: 'free',
    placeholder: 'NAME',
    multiple: true,
    description: 'run on this host of ~/.config/pmon3/hosts.yaml over its HTTP API; repeat for several (or end the command with: on H1 on "H2, H3")',
  },
];

/** `pmon3 -v`, `pmon3 --version`: the CLI's version (the `version` command asks pmond too). */
export const VERSION_FLAGS: readonly string[] = ['-v', '--version'];

/** The target words every command that acts on processes understands, documented once. */
export const TARGET_HELP = 'process id, name, or user/name (root and admin_group)';

const force: FlagDef = { long: 'force', short: 'f', type: 'boolean', description: 'SIGKILL at once instead of stop_signal and stop_timeout' };
const linesFlag = (what: string): FlagDef => ({
  long: 'lines',
  short: 'n',
  type: 'integer',
  placeholder: 'N',
  default: 10,
  min: 0,
  max: 100_000,
  description: what,
});
const allFlag: FlagDef = { long: 'all', short: 'a', type: 'boolean', description: 'also the rotated copies (app.log.1, app.log.2.gz, ...), oldest first' };
const target = (description = TARGET_HELP): ArgDef => ({ name: 'target', kind: 'process', required: true, description });
const targetOrAll = (): ArgDef => target(`${TARGET_HELP}, or all (every process of yours)`);

/** The Go pmon3's restart flags: change the app, then restart every instance of it. */
const GO_RESTART_FLAGS_HELP =
  "With the Go pmon3's flags (-a, -u, -l, -d, -n, --dependencies) the app is changed first, then every instance of it restarts; a name only pmond's own apps files or process config know is brought in from them (root and admin_group).";
const goRestartFlags: readonly FlagDef[] = [
  { long: 'args', short: 'a', type: 'string', kind: 'free', placeholder: 'ARGS', description: "new arguments, split with shell-like quoting (never run by a shell)" },
  { long: 'user', short: 'u', type: 'string', kind: 'user', placeholder: 'USER', description: 'run as this user from now on (others need root or admin_group)' },
  { long: 'log', short: 'l', type: 'string', kind: 'file', placeholder: 'FILE', description: 'log to this file from now on' },
  { long: 'log-dir', alsoLong: ['log_dir'], short: 'd', type: 'string', kind: 'file', placeholder: 'DIR', description: 'log to <name>.log in this directory from now on' },
  { long: 'no-autorestart', short: 'n', type: 'boolean', description: 'do not restart it when it exits, from now on' },
  { long: 'dependencies', type: 'string', kind: 'free', placeholder: 'APPS', description: 'its dependencies from now on, comma-separated' },
];

/** Every command. The order is the order of `pmon3 help` and the README. */
export const COMMANDS: readonly CommandDef[] = [
  {
    name: 'exec',
    aliases: [],
    summary: 'Start a new process and keep it running',
    description:
      'BINARY is a path (relative to the current directory), a file in the current directory, or a command found in your PATH. ' +
      'A script that is not executable runs through an interpreter chosen by its #! line or its extension ' +
      '(.js node, .py python3, .sh sh, .rb ruby, .pl perl, .php php); --interpreter overrides that. ' +
      "The program's own arguments go after -- (or in --args): any other word after BINARY is refused.",
    args: [{ name: 'binary', kind: 'file', required: true, description: 'the program or script to run' }],
    passThrough: true,
    flags: [
      { long: 'name', type: 'string', kind: 'free', placeholder: 'NAME', description: "process name (default: the file name without its extension)" },
      { long: 'args', short: 'a', type: 'string', kind: 'free', placeholder: 'ARGS', description: "the program's arguments, split with shell-like quoting (never run by a shell)" },
      { long: 'env-vars', short: 'e', type: 'string', kind: 'free', placeholder: 'VARS', multiple: true, description: 'environment variables, "A=1 B=\'two words\'" (may be repeated)' },
      { long: 'user', short: 'u', type: 'string', kind: 'user', placeholder: 'USER', description: 'run as this user (default: you; others need root or admin_group)' },
      { long: 'log', short: 'l', type: 'string', kind: 'file', placeholder: 'FILE', description: 'log file (default: <logs_dir>/<name>.log)' },
      { long: 'log-dir', alsoLong: ['log_dir'], short: 'd', type: 'string', kind: 'file', placeholder: 'DIR', description: 'directory for <name>.log' },
      { long: 'cwd', type: 'string', kind: 'file', placeholder: 'DIR', description: 'working directory (default: the current directory)' },
      { long: 'interpreter', type: 'string', kind: 'free', placeholder: 'BIN', description: 'run BINARY with this interpreter, or "none" to run it as it is' },
      { long: 'no-autorestart', short: 'n', type: 'boolean', description: 'do not restart the process when it exits' },
      { long: 'groups', short: 'g', type: 'string', kind: 'free', placeholder: 'GROUPS', description: 'groups to join, comma-separated (made as needed)' },
      { long: 'dependencies', type: 'string', kind: 'free', placeholder: 'APPS', description: 'apps it depends on, comma-separated (yours; see dgraph)' },
      { long: 'instances', short: 'i', type: 'integer', kind: 'free', placeholder: 'N', min: 1, max: 1000, description: 'run N instances, NAME:0 to NAME:N-1, each with PMON3_INSTANCE' },
    ],
    examples: [
      'exec ./bin/server --name api -- -port=8080',
      'exec ./worker --name worker -i 4 -g backend --dependencies api',
      'exec node --name web -- server.js',
      'exec worker.py -e "QUEUE=jobs" -e "DEBUG=1"',
      'exec ./job.sh --no-autorestart --log /var/log/job.log',
    ],
    json: 'the new process (as desc --json)',
  },
  {
    name: 'ls',
    aliases: ['list'],
    summary: 'List processes',
    args: [{ name: 'pattern', kind: 'free', required: false, description: 'only names matching this pattern (* and ? wildcards)' }],
    flags: [
      { long: 'status', short: 's', type: 'string', kind: 'choice', placeholder: 'STATUS', multiple: true, values: ['running', 'starting', 'stopped', 'failed', 'backoff', 'restarting', 'queued', 'init', 'completed', 'scheduled'], description: 'only processes in this status (may be repeated)' },
      { long: 'user', short: 'u', type: 'string', kind: 'user', placeholder: 'USER', description: "only this user's processes" },
      { long: 'sort', type: 'string', kind: 'choice', placeholder: 'FIELD', values: ['id', 'name', 'status', 'user', 'restarts', 'cpu', 'mem', 'uptime'], default: 'id', description: 'sort by this column' },
      { long: 'reverse', short: 'r', type: 'boolean', description: 'reverse the order' },
      { long: 'watch', short: 'w', type: 'boolean', description: 'show it again at every change (pmond says when) and every 2 s, until Ctrl-C; --json: one array per line' },
    ],
    examples: ['ls', 'ls "web*" --status running', 'ls --sort mem -r', 'ls --json', 'ls --watch'],
    json: 'an array of processes (id, name, status, pid, restarts, user, uid, cpu, memory, uptime_ms, last_exit_code, last_signal, saved)',
  },
  {
    name: 'desc',
    aliases: ['show'],
    summary: 'Show everything about one process',
    args: [target()],
    flags: [],
    examples: ['desc api', 'desc 3 --json'],
    json: 'the process: every field of ls plus process_file, args, env, cwd, log, auto_restart, gid, timestamps, cgroup',
  },
  {
    name: 'log',
    aliases: [],
    summary: 'Show the last lines of a process log; log rotate [NAME]: rotate logs that have a logger',
    args: [target(), { name: 'name', kind: 'process', required: false, description: 'after rotate: the process (default: all of yours with rotate: or timestamps:)' }],
    description:
      'With -a: the rotated copies beside the log (app.log.2.gz, app.log.1, app.log-20261201...), oldest first, then the current log, ' +
      'each whole up to 32 MiB (-n does not apply); .gz copies are decompressed. A copy that is not a regular file of the ' +
      "process's user (a symlink, a FIFO, someone else's file) is skipped, one line on stderr each.",
    flags: [linesFlag('how many lines'), allFlag, { long: 'crash', type: 'boolean', description: 'the newest crash file instead (save_log_on_crash: the end of its output when it last exited abnormally)' }],
    examples: ['log api', 'log api -n 100', 'log api -a', 'log api --crash', 'log rotate api', 'log rotate'],
    json: '{"path": the log file, "text": the lines}; with -a also "files" (read, in order), "skipped" ([{"name", "why"}]), "notes"',
  },
  {
    name: 'logf',
    aliases: [],
    summary: 'Follow a process log (like tail -f) until Ctrl-C',
    args: [target()],
    description: 'With -a: the rotated copies and the whole current log first (as log -a), then what is appended.',
    flags: [linesFlag('lines of history to show first'), allFlag],
    examples: ['logf api', 'logf api -n 0', 'logf api | head -1', 'logf api -a'],
    json: 'one line per chunk: {"data": "..."}; with -a, first one {"files", "skipped", "notes"} line (after the history)',
  },
  {
    name: 'logs',
    aliases: [],
    summary: 'Show (or follow) the logs of several processes, each line prefixed with its name',
    description: "Without a target: all of your processes (root: everyone's). Like pm2 logs.",
    args: [{ name: 'targets', kind: 'process', required: false, variadic: true, description: `${TARGET_HELP}; several may be given` }],
    flags: [
      { long: 'follow', short: 'f', type: 'boolean', description: 'keep following until Ctrl-C' },
      linesFlag('lines of each log to show first'),
    ],
    examples: ['logs', 'logs api worker -n 50', 'logs -f'],
    json: 'one line per chunk: {"id": N, "name": "...", "data": "..."}',
  },
  {
    name: 'topn',
    aliases: [],
    summary: 'Show processes busiest first (CPU, then memory), refreshed in place like top',
    description: 'On a terminal the table is redrawn every --seconds until Ctrl-C; through a pipe, or with --once, it is printed once.',
    args: [],
    flags: [
      { long: 'seconds', short: 's', type: 'integer', placeholder: 'SECONDS', default: 2, min: 1, max: 3600, description: 'seconds between refreshes (1 to 3600)' },
      { long: 'once', type: 'boolean', description: 'print the table once and exit' },
    ],
    examples: ['topn', 'topn -s 5', 'topn --once', 'topn --json'],
    json: 'one snapshot: an array of processes busiest first (as ls --json)',
  },
  {
    name: 'stop',
    aliases: [],
    summary: 'Stop a process (all: every process of yours)',
    args: [targetOrAll()],
    flags: [force],
    examples: ['stop api', 'stop all', 'stop 3 --force'],
    json: 'the process; for all, an array of processes',
  },
  {
    name: 'start',
    aliases: [],
    summary: 'Start a stopped or failed process (all: every process of yours)',
    description: GO_RESTART_FLAGS_HELP,
    args: [targetOrAll()],
    flags: goRestartFlags,
    examples: ['start api', 'start all', 'start api -a "--port 8081"'],
    json: 'the process; for all, an array of processes',
  },
  {
    name: 'restart',
    aliases: [],
    summary: 'Restart a process, counted as a restart (all: every process of yours)',
    description: GO_RESTART_FLAGS_HELP,
    args: [targetOrAll()],
    flags: goRestartFlags,
    examples: ['restart api', 'restart all', 'restart api -u www-data -l /var/log/api.log', 'restart worker --dependencies api,db'],
    json: 'the process; for all, an array of processes',
  },
  {
    name: 'trystart',
    aliases: [],
    summary: 'Restart a process if it runs, else start it (supervisor-rs)',
    args: [target()],
    flags: [],
    examples: ['trystart api', 'trystart @web'],
    json: 'an array of the processes',
  },
  {
    name: 'run',
    aliases: [],
    summary: "Run one of your processes now: a cron app's run out of schedule, a once app again",
    description:
      'A process that runs already is not run twice (restart it). A cron app keeps its schedule. ' +
      '`run` with anything else than one name of yours (`run ./server.js`, `run node -- app.js`), or a NAME that is not one, is exec, as in the Go pmon3 (where run is exec\'s alias).',
    args: [target()],
    flags: [],
    examples: ['run backup', 'run report:1'],
    json: 'an array of the processes started',
  },
  {
    name: 'del',
    aliases: ['delete'],
    summary: 'Stop and delete a process, and the log pmond made for it in logs_dir (all: every process of yours)',
    args: [targetOrAll()],
    flags: [force],
    examples: ['del api', 'delete 3 -f', 'del all'],
    json: 'the deleted process; for all, an array of processes',
  },
  {
    name: 'reset',
    aliases: [],
    summary: 'Reset the restart counter of a process, or of all yours',
    args: [{ ...targetOrAll(), required: false }],
    flags: [],
    examples: ['reset api', 'reset', 'reset all'],
    json: 'an array of the processes reset',
  },
  {
    name: 'kill',
    aliases: [],
    summary: 'Stop all your processes',
    args: [],
    flags: [force],
    examples: ['kill', 'kill --force'],
    json: 'an array of processes',
  },
  {
    name: 'init',
    aliases: [],
    summary: 'Start all your stopped or failed processes, dependencies first',
    description: 'Each app starts once the apps it depends on have run for their startsecs. pmon3 answers when they are started; -b (the Go pmon3\'s --blocking) is accepted and changes nothing.',
    args: [],
    flags: [
      { long: 'process-config-only', short: 'c', type: 'boolean', description: 'only apps from apps files and the process config file' },
      { long: 'blocking', short: 'b', type: 'boolean', description: 'answer once all are started (always so here)' },
    ],
    examples: ['init', 'init -c', 'init -c -b'],
    json: 'an array of processes',
  },
  {
    name: 'drop',
    aliases: [],
    summary: 'Stop and delete all your processes (and the logs pmond made for them)',
    args: [],
    flags: [force],
    examples: ['drop', 'drop --force'],
    json: 'an array of the deleted processes',
  },
  {
    name: 'apply',
    aliases: [],
    summary: 'Make your apps what apps files say: add, change, scale and (with --prune) remove',
    description:
      'Reads YAML, JSON or TOML apps files (a directory: every *.yaml, *.yml, *.json, *.toml in it) as you, and prints what changes. Only a change to what is executed (binary, args, cwd, env, user, group) restarts, and only that app; more instances start the new ones. One error anywhere and nothing changes.',
    args: [],
    flags: [
      { long: 'file', short: 'f', type: 'string', kind: 'file', placeholder: 'FILE|DIR', multiple: true, description: 'an apps file or a directory of them (may be repeated)' },
      { long: 'prune', type: 'boolean', description: 'remove apps an earlier apply took from these files that they no longer define' },
      { long: 'dry-run', type: 'boolean', description: 'print what would change, change nothing' },
    ],
    examples: ['apply -f apps.yaml', 'apply -f /etc/pmon3/apps.d --prune', 'apply -f apps.toml --dry-run --json'],
    json: '{"changes": [{"name", "user", "kind": added|changed|removed|kept|unchanged, "fields", "restart", "instances": {"from", "to"}}], "counts": {...}}',
  },
  {
    name: 'reload',
    aliases: [],
    summary: "Without NAME: read pmond's configured apps files again and apply them. With NAME: a rolling reload of that app",
    description:
      'Without NAME: the files and directories of the `apps` config key, as pmond read them at start; for root and admin_group. With NAME: as upgrade NAME (new instances beside the old, each old one stopped once its new one is ready; a new one that fails is a rollback).',
    args: [{ name: 'target', kind: 'process', required: false, description: 'the app to replace instance by instance (NAME or USER/NAME)' }],
    flags: [{ long: 'dry-run', type: 'boolean', description: "print what would change, change nothing (pmond's apps files only)" }],
    examples: ['reload', 'reload --dry-run', 'reload web'],
    json: 'as apply; with NAME as upgrade',
  },
  {
    name: 'upgrade',
    aliases: [],
    summary: 'Replace an app\'s running instances by new ones without dropping a connection',
    description:
      "Starts new instances beside the old ones (max_surge at a time, default 1), waits until they are ready (the app's ready: check, else running for its startsecs), then stops the old ones gracefully (stop_signal, stop_timeout). A new one that exits or is not ready in time is a rollback: the new ones go, the old ones serve on, and the exit code is 6.",
    args: [{ name: 'target', kind: 'process', required: true, description: 'the app (NAME or USER/NAME)' }],
    flags: [],
    examples: ['upgrade web', 'reload web --json'],
    json: '{"replaced", "ms", "processes": [...]}',
  },
  {
    name: 'group',
    aliases: ['groups'],
    summary: 'Groups of apps: create, del, ls, desc, assign, remove, stop, restart, drop',
    description:
      'The Go pmon3\'s group commands. assign and remove take comma-separated groups and processes. stop, restart and drop act on every member and report each one. A group is also a selector: @NAME, wherever a process is named.',
    args: [
      { name: 'action', kind: 'choice', values: ['create', 'del', 'ls', 'list', 'desc', 'show', 'assign', 'remove', 'stop', 'restart', 'drop'], required: true, description: 'what to do' },
      { name: 'group', kind: 'free', required: false, description: 'the group (name or id); assign/remove: GROUP[,GROUP...]' },
      { name: 'targets', kind: 'process', required: false, description: 'assign/remove: PROCESS[,PROCESS...]' },
    ],
    flags: [force],
    examples: ['group create backend', 'group assign backend api,worker', 'group ls', 'group desc backend', 'group restart backend', 'group drop backend -f', 'group del backend'],
    json: 'create/del/ls/desc/assign/remove: {"groups": [{"id", "name", "user", "uid", "apps"}]}; stop/restart/drop: an array of processes',
  },
  {
    name: 'scale',
    aliases: [],
    summary: "Set how many instances an app runs: N, or +N/-N more or fewer",
    description: 'New instances start as the others run, each with PMON3_INSTANCE; the highest go first. An apps file keeps its own number: the next apply of it sets that again.',
    args: [
      { name: 'target', kind: 'process', required: true, description: 'the app (NAME or USER/NAME)' },
      { name: 'count', kind: 'free', required: true, description: 'N, +N or -N' },
    ],
    flags: [],
    examples: ['scale web 4', 'scale web +1', 'scale web -1'],
    json: 'an array of the app\'s instances',
  },
  {
    name: 'import',
    aliases: [],
    summary: "Move in from another process manager: PM2, supervisord, the Go pmon3, fib-runner, supervisor-rs, Firestarter, Meproc",
    description:
      'Reads the file (or the directory holding it) as you, detects its format from its content unless --from says it, and applies the apps it defines (--dry-run: the diff only), or with -o writes them as our apps file. Every field without an equivalent is a warning naming file, line and field; nothing is dropped silently. A JavaScript ecosystem file is never run.',
    args: [{ name: 'path', kind: 'file', required: true, description: "the other manager's configuration file, or a directory holding it" }],
    flags: [
      { long: 'from', type: 'string', kind: 'choice', placeholder: 'FORMAT', values: ['pm2', 'pm2-dump', 'supervisord', 'pmon3-go', 'pmon3-go-db', 'fib-runner', 'supervisor-rs', 'firestarter', 'meproc'], description: 'the format (default: detected from the content)' },
      { long: 'output', short: 'o', type: 'string', kind: 'file', placeholder: 'FILE', description: 'write our apps file there instead of applying it' },
      { long: 'env', type: 'string', kind: 'free', placeholder: 'NAME', description: 'PM2: take the env_NAME set of each app' },
      { long: 'dry-run', type: 'boolean', description: 'print what applying would change, change nothing' },
    ],
    examples: ['import ecosystem.config.json --env production', 'import /etc/supervisor/supervisord.conf -o apps.yaml', 'import ~/.pm2/dump.pm2 --dry-run', 'import runner.json'],
    json: '{"format", "apps", "warnings": [{"file", "line", "field", "message"}], "files", "changes"?: as apply, "output"?}',
  },
  {
    name: 'export',
    aliases: [],
    summary: "Write your apps out: the Go pmon3's process config (json, yaml, toml), our apps file, or systemd units",
    description:
      "json, yaml and toml are the Go pmon3's export, byte for byte as it writes them (one entry per app; what that format cannot hold is noted on stderr). --format apps writes our apps file: apply -f of it recreates the same apps. --format systemd writes one unit per instance and a .target per group (README \"Moving to systemd\").",
    args: [{ name: 'format', kind: 'choice', values: ['json', 'yaml', 'toml'], required: false, description: "the Go pmon3's formats (default json)" }],
    flags: [
      { long: 'format', type: 'string', kind: 'choice', placeholder: 'FORMAT', values: ['json', 'yaml', 'toml', 'apps', 'systemd'], description: 'json, yaml, toml, apps or systemd' },
      { long: 'order', short: 'o', type: 'string', kind: 'choice', placeholder: 'FIELD', values: ['id', 'name', 'process_file', 'file', 'username', 'user', 'log', 'created_at'], default: 'id', description: 'order by this field (the Go pmon3\'s -o)' },
      { long: 'dir', short: 'd', type: 'string', kind: 'file', placeholder: 'DIR', description: 'systemd: write the unit files into DIR (made if missing) instead of printing them' },
    ],
    examples: ['export', 'export yaml -o name', 'export --format apps > apps.yaml', 'export --format systemd -d ./units'],
    json: 'json/yaml/toml: {"processes": [...], "notes": [...]}; apps: {"apps": [...]}; systemd: {"units": [{"name", "text"}]}',
  },
  {
    name: 'dgraph',
    aliases: ['order'],
    summary: 'Show the order apps start in: dependencies first',
    args: [],
    flags: [{ long: 'process-config-only', short: 'c', type: 'boolean', description: 'only apps from apps files' }],
    examples: ['dgraph', 'dgraph -c', 'dgraph --json'],
    json: '{"queue": [names], "graph": [names]}',
  },
  {
    name: 'daemon',
    aliases: [],
    summary: 'Start, stop or ask about your own pmond',
    description: 'For a user without a system pmond: pmond with the per-user defaults (see README "Run your own pmond").',
    args: [{ name: 'action', kind: 'choice', values: ['start', 'status', 'stop'], required: true, description: 'start, status or stop' }],
    flags: [],
    examples: ['daemon start', 'daemon status', 'daemon stop'],
    json: 'start/status: {"running", "pid", "version", "socket", ...}; stop: the same, after it stopped',
  },
  {
    name: 'info',
    aliases: [],
    summary: "Show pmond's version, uptime, paths, processes per status and health",
    args: [],
    flags: [],
    examples: ['info', 'info --json'],
    json: '{"version", "pid", "uid", "started_at", "uptime_ms", "config_path", "socket_path", "data_dir", "logs_dir", "apps_paths", "counts": {status: n}, "apps", "health"}',
  },
  {
    name: 'stat',
    aliases: [],
    summary: "Chart a process's CPU or memory over time (fib-runner's .stat)",
    description: 'pmond samples every instance every stats_interval seconds and keeps, in memory, the last 60 points at 1, 5, 15, 60, 240 and 720 minutes per point.',
    args: [
      target(),
      { name: 'metric', kind: 'choice', values: ['cpu', 'rss'], required: false, description: 'cpu (default) or rss' },
      { name: 'resolution', kind: 'choice', values: ['1', '5', '15', '60', '240', '720'], required: false, description: 'minutes per point (default 1)' },
    ],
    flags: [],
    examples: ['stat api', 'stat api rss 60'],
    json: '{"res_minutes", "points", "interval_ms", "series": [{"id", "name", "cpu": [...], "memory": [...]}]}',
  },
  {
    name: 'attach',
    aliases: [],
    summary: "Stream a process's output live (every instance of an app) until Ctrl-C",
    args: [target()],
    flags: [{ long: 'stdin', type: 'boolean', description: 'also send what you type (or pipe) to its stdin: your own process, of an app with stdin: true' }],
    examples: ['attach api', 'attach repl --stdin'],
    json: 'one line per chunk: {"id", "name", "data"}',
  },
  {
    name: 'monit',
    aliases: [],
    summary: "A full-screen live view (PM2's monit): processes with CPU and memory sparklines, and the selected one's log",
    args: [],
    flags: [],
    examples: ['monit'],
    json: 'one snapshot: {"processes": [...]}',
  },
  {
    name: 'shell',
    aliases: [],
    summary: 'An interactive pmon3 prompt with history and completion (without a terminal: commands from stdin)',
    args: [],
    flags: [],
    examples: ['shell', 'printf "ls\\ninfo\\n" | pmon3 shell'],
    json: 'each command prints as it would alone',
  },
  {
    name: 'key',
    aliases: [],
    summary: 'Make an Ed25519 key for the HTTP API, or show the public half of one',
    description:
      'gen writes a new private key to FILE (mode 0600, never over an existing file) and prints its public line for http.keys in pmond\'s config; show prints the public line of a private key file. See README "HTTP API".',
    args: [
      { name: 'action', kind: 'choice', values: ['gen', 'show'], required: true, description: 'gen or show' },
      { name: 'file', kind: 'file', required: true, description: 'the private key file' },
    ],
    flags: [],
    examples: ['key gen ~/.config/pmon3/keys/ops.key', 'key show ~/.config/pmon3/keys/ops.key'],
    json: '{"file", "public_key", "id"}',
  },
  {
    name: 'version',
    aliases: [],
    summary: "Show pmon3's version and, if it runs, pmond's version and health",
    args: [],
    flags: [],
    examples: ['version', 'version --json'],
    json: '{"pmon3": version, "pmond": version or null, "health": {...} or null}',
  },
  {
    name: 'completion',
    aliases: [],
    summary: 'Print the shell completion script for bash, zsh or fish',
    args: [{ name: 'shell', kind: 'choice', values: ['bash', 'zsh', 'fish'], required: true, description: 'bash, zsh or fish' }],
    flags: [],
    examples: [
      'completion bash > ~/.local/share/bash-completion/completions/pmon3',
      'completion zsh > "${fpath[1]}/_pmon3"',
      'completion fish > ~/.config/fish/completions/pmon3.fish',
    ],
    json: '{"shell": ..., "script": ...}',
  },
  {
    name: 'help',
    aliases: [],
    summary: 'Show help for pmon3 or one command',
    args: [{ name: 'command', kind: 'choice', required: false, description: 'a command' }],
    flags: [],
    examples: ['help', 'help exec'],
    json: 'the command table entry (or the list of commands)',
  },
];

/** The command a word names (its name or an alias), or undefined. */
export function findCommand(word: string): CommandDef | undefined {
  return COMMANDS.find((c) => c.name === word || c.aliases.includes(word));
}

/** Every word that names a command. */
export function commandWords(): string[] {
  return COMMANDS.flatMap((c) => [c.name, ...c.aliases]);
}
