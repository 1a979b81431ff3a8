/**
 * An apps-file AppSpec as `apply` sends it (AppSpecWire): what is executed made explicit. A
 * script runs through its interpreter (given, or found by `how` — the CLI's interpreterFor, as
 * the caller); a script with no interpreter and no `how` runs as it is (the kernel reads its #!
 * line): pmond, reading its own `apps` paths, never opens a script to look.
 */
import type { AppSpecWire } from '../protocol/methods';
import type { AppSpec } from './file';

/** How a script is run: the program and the words before the script's own arguments (the script itself among them). */
export type ScriptRunner = (script: string, interpreter: string | undefined, dir: string) => { file: string; pre: string[] };

export function toWire(a: AppSpec, how?: ScriptRunner): AppSpecWire {
  let file: string;
  let args: string[];
  if (a.script !== undefined) {
    const dir = a.source.file.replace(/\/[^/]*$/, '') || '/';
    const run = how ? how(a.script, a.interpreter, dir) : a.interpreter !== undefined ? { file: a.interpreter, pre: [a.script] } : { file: a.script, pre: [] };
    file = run.file;
    args = [...run.pre, ...a.args];
  } else {
    file = a.exec!;
    args = a.args;
  }
  return {
    name: a.name,
    file,
    args,
    env: a.env,
    cwd: a.cwd,
    ...(a.user !== undefined ? { user: a.user } : {}),
    ...(a.group !== undefined ? { group: a.group } : {}),
    groups: a.groups,
    instances: a.instances,
    dependencies: a.dependencies,
    autostart: a.autostart,
    restart: a.restart,
    ...(a.restart_delay_ms !== undefined ? { restart_delay_ms: a.restart_delay_ms } : {}),
    ...(a.startsecs_ms !== undefined ? { startsecs_ms: a.startsecs_ms } : {}),
    ...(a.startretries !== undefined ? { startretries: a.startretries } : {}),
    ...(a.stop_signal !== undefined ? { stop_signal: a.stop_signal as AppSpecWire['stop_signal'] } : {}),
    ...(a.stop_timeout_ms !== undefined ? { stop_timeout_ms: a.stop_timeout_ms } : {}),
    ...(a.log !== undefined ? { log: a.log } : {}),
    ...(a.log_dir !== undefined ? { log_dir: a.log_dir } : {}),
    ...(a.task !== undefined ? { task: a.task } : {}),
    ...(a.sockets !== undefined ? { sockets: a.sockets } : {}),
    ...(a.rlimits !== undefined ? { rlimits: a.rlimits } : {}),
    source: `${a.source.file}:${a.source.line}`,
  };
}
