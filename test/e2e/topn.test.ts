/**
 * topn against a real pmond: printed once through a pipe and with --once,
 * --json is one snapshot busiest first, bad -s is one line and exit 2, and on
 * a terminal (a pty) it redraws in place and restores the screen on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { FIXTURES, PMON3, TestDaemon } from '../helpers/daemon';
import { waitFor } from '../helpers/wait';

let d: TestDaemon;
before(async () => {
  d = await TestDaemon.start();
  await d.json(['exec', '/bin/sleep', '--name', 'idle', '-a', '300']);
  // A busy loop: the top of the list once pidusage has seen it twice.
  await d.json(['exec', '/bin/sh', '--name', 'busy', '-a', '-c "while :; do :; done"']);
  await d.json(['exec', path.join(FIXTURES, 'crash.sh'), '--name', 'gone', '-n', '-a', '0 0']);
  await d.waitProc('gone', 'stopped', (p) => p.status !== 'running' && p.status !== 'init' && p.status !== 'queued');
});
after(async () => {
  await d?.stop();
});

test('--json: one snapshot of every process, busiest first (CPU, then memory), unknown figures last', async () => {
  const list = await waitFor('busy to lead', async () => {
    const l = await d.json<any[]>(['topn']);
    return l[0]?.name === 'busy' ? l : undefined;
  });
  assert.deepEqual(list.map((p) => p.name).sort(), ['busy', 'gone', 'idle']);
  assert.equal(list[2].name, 'gone');
  assert.equal(list[2].cpu, null);
  for (const k of ['id', 'pid', 'name', 'user', 'cpu', 'memory', 'status', 'uptime_ms']) assert.ok(k in list[0], k);
});

test('through a pipe, and with --once: the table printed once', async () => {
  for (const args of [['topn'], ['topn', '--once'], ['topn', '-s', '1', '--once']]) {
    const r = await d.run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /│ PID +│ Name +│ User +│ CPU +│ Mem +│ Status +│ Uptime +│/);
    assert.equal(r.stdout.includes('\x1b'), false, 'no ANSI through a pipe');
    assert.equal(r.stdout.match(/│ PID /g)?.length, 1, 'one table');
    for (const n of ['busy', 'idle', 'gone']) assert.match(r.stdout, new RegExp(`│ ${n} `));
  }
});

test('bad -s: one line naming it, exit 2', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['-s', '0'], /^pmon3: topn: -s must be between 1 and 3600, not 0$/],
    [['-s', '3601'], /^pmon3: topn: -s must be between 1 and 3600, not 3601$/],
    [['-s', 'x'], /^pmon3: topn: -s takes a whole number, not "x"$/],
    [['-s', ''], /^pmon3: topn: -s takes a whole number, not ""$/],
    [['--seconds=-1'], /^pmon3: topn: --seconds takes a whole number, not "-1"$/],
    [['-s'], /^pmon3: topn: -s needs a value/],
  ];
  for (const [args, re] of cases) {
    const r = await d.run(['topn', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, re);
  }
});

test('on a terminal: redrawn in place every -s seconds; Ctrl-C restores the cursor and the screen, exit 0', async () => {
  // A pty from python's pty module (argv, no shell); its stdin is copied to the pty, so ^C is a real SIGINT.
  const relay = 'import os, pty, sys\nsys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))';
  const p = spawn('python3', ['-c', relay, PMON3, 'topn', '-s', '1'], {
    env: { ...process.env, PMON3_CONF: d.conf, COLUMNS: '', TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  try {
    await waitFor('two frames', () => (out.match(/\x1b\[H\x1b\[2J/g)?.length ?? 0) >= 2, 15_000);
    assert.ok(out.includes('\x1b[?1049h\x1b[?25l'), 'alternate screen, cursor hidden');
    assert.match(out, /pmon3 topn: 3 processes, every 1 s/);
    p.stdin!.write('\x03');
    assert.equal(await Promise.race([exited, waitFor('topn to exit', () => p.exitCode !== null, 10_000).then(() => p.exitCode)]), 0);
    assert.ok(out.includes('\x1b[?25h\x1b[?1049l'), 'cursor shown, screen restored');
  } finally {
    p.kill('SIGKILL');
  }
});
