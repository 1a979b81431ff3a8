/**
 * The CLI as the last line of defence: `logf | head -1` ends at once; names,
 * paths and arguments printed for humans cannot drive the terminal (control
 * characters are escaped); and the CLI sends nothing to a socket that is
 * served by anybody but root or the caller (checked with SO_PEERCRED).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PMON3, TestDaemon } from '../helpers/daemon';
import { isRoot } from '../helpers/users';
import { waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

let d: TestDaemon;
let dir: string;
before(async () => {
  d = await TestDaemon.start();
  dir = tempDir('pmc-');
});
after(async () => {
  await d?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('logf into a pipe', () => {
  test('the reader goes away: logf ends at once, quietly, even while the log is quiet', async () => {
    const quiet = path.join(dir, 'quiet.sh');
    fs.writeFileSync(quiet, '#!/bin/sh\necho first\necho second\nexec sleep 300\n', { mode: 0o755 });
    await d.json(['exec', quiet, '--name', 'quiet']);
    await waitFor('its lines', () => fs.readFileSync(path.join(d.logs, 'quiet.log'), 'utf8').includes('second'));
    const f = spawn(PMON3, ['logf', 'quiet'], { env: { ...process.env, PMON3_CONF: d.conf }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    f.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => f.once('exit', (code) => r(code)));
    // Like `head -1`: read the first line, then close the pipe.
    await new Promise<void>((resolve) => {
      let got = '';
      f.stdout!.on('data', (b: Buffer) => {
        got += b.toString();
        if (got.includes('\n')) {
          f.stdout!.destroy();
          resolve();
        }
      });
    });
    const t0 = Date.now();
    const timer = setTimeout(() => f.kill('SIGKILL'), 5000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `exit status (stderr: ${err})`);
    assert.ok(Date.now() - t0 < 2000, `ended within ${Date.now() - t0} ms`);
    assert.equal(err, '');
    await d.json(['del', 'quiet', '-f']);
  });
});

describe('what a user named cannot drive the terminal', () => {
  test('control characters in paths and arguments are shown escaped by ls, desc and errors', async () => {
    const evil = path.join(dir, 'x\x1b]0;pwned\x07\x1b[2J\x9b31m');
    fs.mkdirSync(evil);
    const bin = path.join(evil, 'prog');
    fs.writeFileSync(bin, '#!/bin/sh\nexec sleep 300\n', { mode: 0o755 });
    await d.json(['exec', bin, '--name', 'ansi', '--cwd', evil, '--', 'a\x1b[31mred']);
    for (const args of [['ls'], ['desc', 'ansi']]) {
      const r = await d.run(args);
      assert.equal(r.code, 0);
      assert.equal(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(r.stdout), false, `${args[0]} prints no control character`);
    }
    const desc = (await d.run(['desc', 'ansi'])).stdout;
    assert.ok(desc.includes('\\x1b]0;pwned\\x07'), 'shown as escapes');
    const e = await d.run(['desc', '\x1b[2Jgone']);
    assert.equal(e.code, 2);
    assert.equal(e.stderr, 'pmon3: selector "\\u001b[2Jgone" holds a control character\n');
    await d.json(['del', 'ansi', '-f']);
  });
});

describe('the CLI checks who serves the socket before it sends anything', { skip: isRoot() ? false : 'needs root to run a fake server as another user' }, () => {
  test('a socket served by another user receives no byte; the CLI says who serves it', async () => {
    const sock = path.join(dir, 'squat.sock');
    const got = path.join(dir, 'received');
    fs.chmodSync(dir, 0o777);
    // A squatter's server, as nobody: records every byte it is sent.
    const squat = spawn(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--', process.execPath, '-e', SQUATTER, sock, got],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await waitFor('the squatter to listen', () => fs.existsSync(sock));
      const conf = path.join(dir, 'squat.yaml');
      fs.writeFileSync(conf, `socket_path: ${JSON.stringify(sock)}\n`);
      for (const args of [['ls'], ['exec', '/bin/sleep', '--name', 'x', '-e', 'DB_PASSWORD=hunter2', '--', '1'], ['version']]) {
        const r = await d.run(args, { env: { PMON3_CONF: conf } });
        if (args[0] === 'version') {
          assert.match(r.stdout, /pmond not running/);
          continue;
        }
        assert.equal(r.code, 5, `${args[0]}: ${r.stderr}`);
        assert.equal(r.stderr, `pmon3: ${sock} is served by uid 65534, neither root nor you (uid 0); not sending anything\n`);
      }
      // A last connection of our own, after the CLI's: once its marker is recorded, anything sent before was too.
      const { connect } = await import('node:net');
      const last = connect(sock, () => last.end('END'));
      last.on('error', () => undefined);
      await waitFor('the marker', () => fs.existsSync(got) && fs.readFileSync(got, 'utf8').includes('END'));
      assert.equal(fs.readFileSync(got, 'utf8'), 'END', 'the squatter received nothing from the CLI');
    } finally {
      squat.kill('SIGKILL');
    }
  });
});

const SQUATTER = `
const net = require('net'), fs = require('fs');
const [sock, out] = process.argv.slice(1);
net.createServer((s) => s.on('data', (b) => fs.appendFileSync(out, b))).listen(sock);
`;
