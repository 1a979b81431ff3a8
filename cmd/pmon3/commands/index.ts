/** Every pmon3 command (oclif's explicit discovery: no directory scan at start-up). */
import Completion from './completion';
import Del from './del';
import Desc from './desc';
import Drop from './drop';
import Exec from './exec';
import Init from './init';
import Kill from './kill';
import Log from './log';
import Logf from './logf';
import Ls from './ls';
import Reset from './reset';
import Restart from './restart';
import Start from './start';
import Stop from './stop';
import Version from './version';

export const COMMANDS = {
  completion: Completion,
  del: Del,
  desc: Desc,
  drop: Drop,
  exec: Exec,
  init: Init,
  kill: Kill,
  log: Log,
  logf: Logf,
  ls: Ls,
  reset: Reset,
  restart: Restart,
  start: Start,
  stop: Stop,
  version: Version,
};
