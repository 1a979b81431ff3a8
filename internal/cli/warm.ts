/**
 * Run, without I/O to pmond, the code a command runs (config, protocol schemas, the parser,
 * help, rendering), so the start-up snapshot holds it compiled and its schemas built.
 */
import { parseConfig } from '../config/config';
import { encodeFrame, FrameDecoder, METHODS } from '../protocol';
import type { ProcessView } from '../protocol/methods';
import { execParams } from './args';
import { commandHelp, topHelp } from './help';
import { parseArgv } from './parse';
import { describeTable, processTable } from './render';
import { COMMANDS } from './table';

export function warmUp(): void {
  const ce = { uid: 0, home: '/root', env: {} };
  parseConfig('socket_path: /run/pmon3/pmon3.sock\nstop_timeout: 3\n', '/dev/null', ce);
  const now = new Date(0).toISOString();
  const view: ProcessView = {
    id: 1,
    name: 'warm',
    status: 'running',
    pid: 1,
    restarts: 0,
    user: 'root',
    uid: 0,
    gid: 0,
    process_file: '/bin/true',
    args: ['a'],
    env: { A: '1' },
    cwd: '/',
    log: '/dev/null',
    auto_restart: true,
    cpu: 0.5,
    memory: 1 << 20,
    uptime_ms: 1000,
    last_exit_code: null,
    last_signal: null,
    started_at: now,
    created_at: now,
    updated_at: now,
    cgroup: null,
    saved: true,
  };
  const reply = new FrameDecoder(1 << 20).push(encodeFrame({ v: 2, id: 1, ok: true, result: { processes: [view], next: null } }))[0] as { result: unknown };
  METHODS.list.result.safeParse(reply.result);
  METHODS.describe.result.safeParse(view);
  METHODS.exec.result.safeParse(view);
  processTable([view], { color: true, width: 60 });
  describeTable(view, { color: true });
  for (const argv of [['ls'], ['desc', 'x', '--json'], ['exec', '/bin/true', '-n', '--', 'a'], ['stop', 'all', '-f'], ['logs', '-f', 'a', 'b']]) parseArgv(argv);
  topHelp('0', 80);
  for (const c of COMMANDS) commandHelp(c, 80);
  const fakeFs = { isExecutableFile: () => true, exists: () => true, isRegularFile: () => true, firstLine: () => undefined };
  execParams({ binary: '/bin/x', extra: [], args: "-a 'b c'", envVars: ['A=1'], noAutorestart: false }, '/', '/bin', fakeFs);
}
