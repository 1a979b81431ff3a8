/**
 * A pmond started with a config.yml written for the Go pmon3: its logs and data directories and
 * its restart hook are used, the hook gets the Go field names, and what does not apply is one
 * notice line each in pmond.log.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, TestDaemon } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

let dir: string;
let d: TestDaemon;
let hookOut: string;
let goLogs: string;
let goData: string;

before(async () => {
  dir = tempDir('pmgo-', 0o755);
  hookOut = path.join(dir, 'hook.out');
  goLogs = path.join(dir, 'go-logs');
  goData = path.join(dir, 'go-data');
  const hook = path.join(dir, 'on_restart.sh');
  // As a Go pmon3 hook: the process JSON is $1.
  fs.writeFileSync(hook, `#!/bin/sh\nprintf '%s\\n' "$1" >> ${JSON.stringify(hookOut)}\n`, { mode: 0o755 });
  d = new TestDaemon(dir);
  fs.writeFileSync(
    d.conf,
    [
      `socket_path: ${JSON.stringify(d.socket)}`,
      'log_level: info',
      'process_monitor_interval: 100',
      'disable_reloads: false',
      'initialization_period: 30',
      'wait:',
      '  cmd_exec_response: 1500',
      '  ipc_connection: 0',
      'permissions:',
      '  user:',
      '  file_mode: 0660',
      'logs:',
      `  directory: ${JSON.stringify(goLogs)}`,
      '  directory_mode: 0775',
      'data:',
      `  directory: ${JSON.stringify(goData)}`,
      'message_queue:',
      '  directory:',
      '    shmem: /dev/shm/',
      'event_handling:',
      `  process_restart: ${JSON.stringify(hook)}`,
      '  process_failure:',
      'flap_detection:',
      '  is_enabled: false',
      '  threshold_decrement: 60',
      '',
    ].join('\n'),
  );
  await d.launch();
});

after(async () => {
  await d?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('logs.directory and data.directory are where pmond keeps its log and database', () => {
  assert.ok(fs.existsSync(path.join(goLogs, 'pmond.log')));
  assert.ok(fs.existsSync(path.join(goData, 'data.db')));
  assert.ok(!fs.existsSync(d.logs) && !fs.existsSync(d.data));
});

test('event_handling.process_restart runs on a restart with the Go field names in $1', async () => {
  const p = await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'flaky', '-a', '1 0.2']);
  const line = await waitFor('the restart hook to write its $1', () => {
    const text = fs.existsSync(hookOut) ? fs.readFileSync(hookOut, 'utf8') : '';
    return text.includes('\n') ? text.split('\n')[0] : undefined;
  }, 15_000);
  await d.run(['stop', 'flaky']);
  const j = JSON.parse(line!) as Record<string, unknown>;
  assert.equal(j.id, p.id);
  assert.equal(j.name, 'flaky');
  assert.equal(j.username, p.user);
  assert.equal(j.auto_restart, true);
  assert.equal(j.uid, p.uid);
  assert.equal(j.gid, p.gid);
  assert.equal(j.process_file, path.join(FIXTURES, 'crash.sh'));
  assert.equal(j.dependencies, '');
  assert.deepEqual(j.Groups, []);
  for (const k of ['pid', 'log', 'args', 'status', 'created_at', 'updated_at', 'cpu_usage', 'memory_usage', 'restarts', 'env_names']) assert.ok(k in j, `${k} is missing`);
  assert.ok(String(j.log).startsWith(goLogs));
});

test('each Go key that does not apply is one notice line in pmond.log', () => {
  const log = fs.readFileSync(path.join(goLogs, 'pmond.log'), 'utf8');
  const notices = log.split('\n').filter((l) => l.includes('config: '));
  for (const want of [
    'config: logs (directory_mode) is the Go pmon3\'s; ',
    'config: permissions (file_mode) is the Go pmon3\'s; ',
    'config: message_queue (directory.shmem) is the Go pmon3\'s; ',
    'config: wait (cmd_exec_response, ipc_connection) is the Go pmon3\'s; ',
    'config: initialization_period is the Go pmon3\'s; ',
    'config: disable_reloads is the Go pmon3\'s; ',
  ]) {
    assert.equal(notices.filter((l) => l.includes(want)).length, 1, `${want} in:\n${notices.join('\n')}`);
  }
  assert.equal(notices.length, 6, notices.join('\n'));
});
