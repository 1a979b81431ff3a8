/** Each command's handler, by the command table's name (internal/cli/table.ts); help is main's. */
import { ls, desc } from './view';
import { exec, stop, start, restart, del, reset, kill, init, drop, trystart, run } from './process';
import { log, logf, logs } from './logs';
import { completion, daemon, info, version } from './misc';
import { topn } from './top';
import { apply, dgraph, exportApps, group, importApps, reload, scale, upgrade } from './apps';
import { key } from './keys';
import { attach, monit, shell } from './live';
import { stat } from './stat';
import type { Handler } from './types';

export const HANDLERS: Readonly<Record<string, Handler>> = {
  exec,
  ls,
  desc,
  log,
  logf,
  logs,
  topn,
  stop,
  start,
  restart,
  trystart,
  run,
  del,
  reset,
  kill,
  init,
  drop,
  apply,
  reload,
  upgrade,
  group,
  dgraph,
  export: exportApps,
  import: importApps,
  scale,
  daemon,
  info,
  version,
  completion,
  key,
  stat,
  attach,
  monit,
  shell,
};
