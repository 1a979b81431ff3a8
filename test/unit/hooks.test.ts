/**
 * The real ExecHookRunner with real hook scripts: a hook runs in a process
 * group of its own that is killed whole at hook_timeout; its slot is free as
 * soon as its main process exits; every failure (also one from spawn itself)
 * gives its slot back and is logged with its cause; a payload too big for
 * argv is cut, never dropped.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { ExecHookRunner, hookArgument, MAX_HOOK_ARG_BYTES, type HookOptions } from '../../internal/hooks/hooks';
import type { Logger } from '../../internal/logger/logger';
import { pidAlive, waitFor } from '../helpers/wait';
import { tempDir } from '../helpers/tmp';

interface Line {
  level: string;
  msg: string;
  meta: Record<string, unknown>;
}

function fakeLogger(): Logger & { lines: Line[]; warns: () => Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, meta: Record<string, unknown> = {}) => void lines.push({ level, msg, meta });
  return {
    lines,
    warns: () => lines.filter((l) => l.level === 'warn'),
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    close: async () => {},
  };
}

let dir: string;

before(() => {
  dir = tempDir('pmhu-');
});

after(() => {
  // Anything a hook started and recorded in a *.pid file must not outlive the tests.
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.pid'))) {
    const pid = Number(fs.readFileSync(path.join(dir, f), 'utf8').trim());
    if (pid > 1 && pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const file = (name: string): string => path.join(dir, name);
const shHook = (name: string, body: string, mode = 0o755): string => {
  fs.writeFileSync(file(name), `#!/bin/sh\n${body}\n`, { mode });
  return file(name);
};
/** A node hook that writes its $1 to out. */
const captureHook = (name: string, out: string): string => {
  fs.writeFileSync(file(name), `#!${process.execPath}\nrequire('fs').writeFileSync(${JSON.stringify(out)}, process.argv[2]);\n`, { mode: 0o755 });
  return file(name);
};
const readPid = (name: string): number => Number(fs.readFileSync(file(name), 'utf8').trim());
const pidFile = (name: string): number | null => {
  try {
    const n = readPid(name);
    return n > 0 ? n : null;
  } catch {
    return null;
  }
};
/** [pgrp, session] of pid from /proc. */
const groupOf = (pid: number | 'self'): [number, number] => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(f[2]), Number(f[3])];
};

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const opts = (o: Partial<HookOptions> & Pick<HookOptions, 'paths'>): HookOptions => ({ timeoutMs: 5000, concurrency: 2, maxQueued: 100, ...o });

test('a hook that backgrounds a sleep: the slot is free at its exit, the sleep dies at hook_timeout', async () => {
  const log = fakeLogger();
  const T = 2000;
  const bg = shHook('bg.sh', `sleep 300 &\necho $! > ${file('bg-child.pid')}\necho $$ > ${file('bg-main.pid')}\nexit 0`);
  const second = shHook('second.sh', `echo $$ > ${file('second.pid')}`);
  const r = new ExecHookRunner(opts({ paths: { start: bg, stop: second }, timeoutMs: T, concurrency: 1 }), log);
  const t0 = Date.now();
  r.fire('start', { name: 'bg-app' });
  r.fire('stop', { name: 'second-app' }); // queued behind the first: concurrency 1
  await waitFor('the second hook ran', () => pidFile('second.pid'), T);
  const tSecond = Date.now() - t0;
  const child = readPid('bg-child.pid');
  const main = readPid('bg-main.pid');
  assert.ok(tSecond < T, `the second hook started ${tSecond} ms after the first, before its ${T} ms timeout`);
  assert.ok(pidAlive(child), 'the background sleep still runs before hook_timeout');
  const [pgrp, sid] = groupOf(child);
  assert.equal(pgrp, main, 'the sleep is in the group the hook leads');
  assert.equal(sid, main, 'the hook leads a session of its own');
  assert.notEqual(pgrp, groupOf('self')[0], 'not in our process group');

  await waitFor('the background sleep killed at hook_timeout', () => !pidAlive(child), T + 5000);
  const tGone = Date.now() - t0;
  assert.ok(tGone >= T - 100, `killed at the timeout, not before (${tGone} ms)`);
  await withDeadline(r.idle(), 5000, 'idle');
  const w = log.warns();
  assert.equal(w.length, 1, JSON.stringify(w));
  assert.match(w[0]!.msg, new RegExp(`^hook start failed: group killed after ${T} ms with 1 members left$`));
  assert.equal(w[0]!.meta.hook, bg);
  assert.equal(w[0]!.meta.process, 'bg-app');
});

test('a hook that hangs: its whole group is killed at hook_timeout', async () => {
  const log = fakeLogger();
  const T = 1000;
  const hang = shHook('hang.sh', `sleep 300 &\necho $! > ${file('hang-child.pid')}\necho $$ > ${file('hang-main.pid')}\nwait`);
  const r = new ExecHookRunner(opts({ paths: { restart: hang }, timeoutMs: T }), log);
  const t0 = Date.now();
  r.fire('restart', { name: 'hung-app' });
  await waitFor('the hook started', () => pidFile('hang-main.pid') && pidFile('hang-child.pid'), 5000);
  const main = readPid('hang-main.pid');
  const child = readPid('hang-child.pid');
  assert.ok(pidAlive(main) && pidAlive(child));
  await waitFor('the hook and its child killed', () => !pidAlive(main) && !pidAlive(child), T + 5000);
  assert.ok(Date.now() - t0 >= T - 100, 'not before the timeout');
  await withDeadline(r.idle(), 5000, 'idle');
  const w = log.warns();
  assert.equal(w.length, 1, JSON.stringify(w));
  assert.match(w[0]!.msg, new RegExp(`^hook restart failed: killed after ${T} ms with its group \\(1 more\\)$`));
  assert.equal(w[0]!.meta.hook, hang);
  assert.equal(w[0]!.meta.process, 'hung-app');
});

/** About 1.3 MiB of JSON: 20 args of 60 KiB (one full of escapes and astral characters), many env names, a long path. */
function hugePayload(name: string): Record<string, unknown> {
  const args = Array.from({ length: 20 }, (_, i) => `arg${i}:` + 'x'.repeat(60 * 1024));
  args[3] = 'esc:' + '"\\\u0001😀é'.repeat(6000);
  return {
    id: 42,
    name,
    pid: 4242,
    status: 'running',
    user: 'root',
    log: '/var/log/pmond/' + 'l'.repeat(100_000),
    process_file: '/srv/' + 'p'.repeat(150_000),
    args,
    env_names: Array.from({ length: 5000 }, (_, i) => `ENV_NAME_${i}`),
    last_exit_code: null,
  };
}

test('a 1 MiB payload: the hook runs and gets valid JSON with "truncated": true', async () => {
  const log = fakeLogger();
  const out = file('big.json');
  const hook = captureHook('capture.js', out);
  const payload = hugePayload('big-app');
  assert.ok(JSON.stringify(payload).length > 1024 * 1024);
  const r = new ExecHookRunner(opts({ paths: { start: hook } }), log);
  r.fire('start', payload);
  await withDeadline(r.idle(), 10_000, 'idle');
  const raw = fs.readFileSync(out, 'utf8');
  assert.ok(Buffer.byteLength(raw) <= MAX_HOOK_ARG_BYTES, `${Buffer.byteLength(raw)} bytes`);
  const j = JSON.parse(raw) as Record<string, unknown>;
  assert.equal(j.truncated, true);
  for (const k of ['id', 'name', 'pid', 'status', 'user', 'last_exit_code']) assert.deepEqual(j[k], payload[k], k);
  const args = j.args as string[];
  assert.equal(args.length, 20, 'every arg kept, each shortened');
  args.forEach((a, i) => assert.ok(a.startsWith(i === 3 ? 'esc:"\\\u0001😀é' : `arg${i}:xxx`), a.slice(0, 20)));
  assert.ok((j.env_names as string[]).length > 0 && (j.env_names as string[])[0] === 'ENV_NAME_0');
  assert.ok((j.process_file as string).startsWith('/srv/ppp'));
  assert.ok((j.log as string).startsWith('/var/log/pmond/lll'));
  assert.deepEqual(log.warns(), []);
});

test('hookArgument: small payloads pass unchanged; any big one becomes valid JSON within the limit', () => {
  const small = { id: 1, name: 'a', args: ['x'], truncated: 'kept as is' };
  assert.equal(hookArgument(small), JSON.stringify(small));
  const cases: Array<[string, Record<string, unknown>]> = [
    ['huge', hugePayload('h')],
    ['many tiny args', { id: 1, name: 'tiny', args: Array.from({ length: 100_000 }, (_, i) => String(i)) }],
    ['control characters (6 bytes each escaped)', { id: 2, name: 'ctl', log: '\u0001'.repeat(200_000) }],
    ['astral characters', { id: 3, name: 'emoji', log: '😀'.repeat(100_000) }],
    ['nested', { id: 4, name: 'nest', a: { b: { c: 'z'.repeat(300_000), d: [1, 2, 3] }, e: 'y'.repeat(1000) } }],
    ['numbers', { id: 5, name: 'nums', args: Array.from({ length: 50_000 }, (_, i) => i * 1000) }],
    ['a huge key', { id: 6, name: 'key', ['k'.repeat(200_000)]: 1 }],
  ];
  for (const max of [MAX_HOOK_ARG_BYTES, 1024]) {
    for (const [what, p] of cases) {
      const s = hookArgument(p, max);
      assert.ok(Buffer.byteLength(s) <= max, `${what}: ${Buffer.byteLength(s)} > ${max}`);
      assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(s), `${what}: no split surrogate pair`);
      const j = JSON.parse(s) as Record<string, unknown>;
      assert.equal(j.truncated, true, what);
      assert.equal(j.id, p.id, what);
      assert.equal(j.name, p.name, what);
      // Fields are shortened, not dropped (only an absurd key is too big to keep).
      if (what !== 'a huge key') assert.deepEqual(Object.keys(j).sort(), [...Object.keys(p), 'truncated'].sort(), what);
    }
  }
  // The head of many tiny args is kept whole, in order.
  const tiny = JSON.parse(hookArgument(cases[1]![1])) as { args: string[] };
  assert.ok(tiny.args.length > 1000);
  tiny.args.forEach((a, i) => assert.equal(a, String(i)));
});

test(`spawn failures in a row give their slots back and are logged with their cause; then a normal hook runs`, async () => {
  const log = fakeLogger();
  const concurrency = 2;
  const paths: HookOptions['paths'] = {};
  const refused = shHook('refused.sh', 'exit 0');
  const r = new ExecHookRunner(
    opts({
      paths,
      concurrency,
      check: (f) => {
        if (f === refused) throw new Error(`hook ${f} is writable by group or others`);
      },
    }),
    log,
  );
  fs.mkdirSync(file('a-directory'));
  const failures: Array<[name: string, hook: string, cause: RegExp]> = [
    ['dir', file('a-directory'), /^hook start failed: EACCES \(spawn\)$/],
    ['missing', file('no-such-hook'), /^hook start failed: ENOENT \(spawn\)$/],
    ['nul', `${file('nul')}\0x`, /^hook start failed: ERR_INVALID_ARG_VALUE \(spawn threw\)$/],
    ['refused', refused, /^hook start failed: refused by StrictModes: hook .* is writable by group or others$/],
    ['noexec', shHook('noexec.sh', 'exit 0', 0o644), /^hook start failed: EACCES \(spawn\)$/],
    ['bad-interpreter', (fs.writeFileSync(file('badint.sh'), '#!/no/such/interpreter\n', { mode: 0o755 }), file('badint.sh')), /^hook start failed: ENOENT \(spawn\)$/],
    ['exit3', shHook('exit3.sh', 'echo "something broke" >&2\nexit 3'), /^hook start failed: exit 3$/],
    ['sigterm', shHook('sigterm.sh', 'kill -TERM $$'), /^hook start failed: signal SIGTERM$/],
  ];
  assert.ok(failures.length >= concurrency + 3);
  // One runner, so a leaked slot would show; the path is read at fire time.
  for (const [name, hook] of failures) {
    paths.start = hook;
    r.fire('start', { name });
  }
  // A payload that would have been E2BIG (a 1 MiB argument) runs too.
  const bigOut = file('e2big.json');
  paths.start = captureHook('e2big.js', bigOut);
  r.fire('start', hugePayload('would-be-e2big'));
  await withDeadline(r.idle(), 10_000, 'idle after the failures');
  assert.equal((JSON.parse(fs.readFileSync(bigOut, 'utf8')) as { truncated: boolean }).truncated, true);

  // Every failure: one warn line with its cause, the hook and the process.
  const w = log.warns();
  for (const [name, hook, cause] of failures) {
    const mine = w.filter((l) => l.meta.process === name);
    assert.equal(mine.length, 1, `${name}: ${JSON.stringify(mine)}`);
    assert.match(mine[0]!.msg, cause, name);
    assert.equal(mine[0]!.meta.hook, hook, name);
  }
  assert.equal(w.length, failures.length, JSON.stringify(w));
  assert.equal(w.find((l) => l.meta.process === 'exit3')!.meta.stderr, 'something broke');

  // Slots were all given back: hook_concurrency normal hooks run at once, and another after them.
  paths.start = shHook('normal.sh', `echo $$ > "${dir}/normal-$(date +%s%N).pid"\nsleep 0.3`);
  for (let i = 0; i <= concurrency; i++) r.fire('start', { name: `normal-${i}` });
  await waitFor(
    `${concurrency} normal hooks running at once`,
    () => fs.readdirSync(dir).filter((n) => n.startsWith('normal-') && n.endsWith('.pid')).length >= concurrency,
    5000,
  );
  await withDeadline(r.idle(), 10_000, 'idle after the normal hooks');
  assert.equal(fs.readdirSync(dir).filter((n) => n.startsWith('normal-') && n.endsWith('.pid')).length, concurrency + 1);
  assert.equal(log.warns().length, failures.length);
});

test('a full queue drops the hook with a log line; idle() still resolves', async () => {
  const log = fakeLogger();
  const slow = shHook('slow.sh', `echo $$ > "${dir}/slow-$(date +%s%N).pid"\nsleep 0.2`);
  const r = new ExecHookRunner(opts({ paths: { backoff: slow }, concurrency: 1, maxQueued: 1 }), log);
  for (const name of ['runs', 'waits', 'dropped']) r.fire('backoff', { name });
  await withDeadline(r.idle(), 10_000, 'idle');
  const w = log.warns();
  assert.equal(w.length, 1, JSON.stringify(w));
  assert.match(w[0]!.msg, /^hook backoff failed: uid -1 has 1 hooks queued, its share of the queue; dropped \(further drops are summed up once a minute\)$/);
  assert.equal(w[0]!.meta.process, 'dropped');
  assert.equal(w[0]!.meta.hook, slow);
  assert.equal(fs.readdirSync(dir).filter((n) => n.startsWith('slow-')).length, 2);
});

test('a shared queue: a uid fills only its share, privileged hooks have room and go first, uids take turns; drops are summed up', async () => {
  const log = fakeLogger();
  const order = file('order.txt');
  fs.writeFileSync(order, '');
  const hook = file('order.js');
  fs.writeFileSync(hook, `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(order)}, JSON.parse(process.argv[2]).name + '\\n');\nsetTimeout(() => {}, 100);\n`, { mode: 0o755 });
  // maxQueued 20: a share of 2 per uid, 2 kept for the privileged.
  const r = new ExecHookRunner(opts({ paths: { restart: hook }, concurrency: 1, maxQueued: 20, dropSummaryMs: 200 }), log);
  const fire = (name: string, uid: number): void => r.fire('restart', { name, uid, gid: uid, user: `u${uid}` });
  for (let i = 0; i < 30; i++) fire(`flood-${i}`, 1000);
  fire('other-0', 1001);
  fire('root-0', 0);
  fire('other-1', 1001);
  await withDeadline(r.idle(), 10_000, 'idle');
  // flood-0 was running; root's goes next; then 1000 and 1001 in turn.
  assert.deepEqual(fs.readFileSync(order, 'utf8').trim().split('\n'), ['flood-0', 'root-0', 'flood-1', 'other-0', 'flood-2', 'other-1']);
  await waitFor('the summary of the drops', () => log.warns().length >= 2, 3000);
  const w = log.warns().map((l) => l.msg);
  assert.equal(w.length, 2, JSON.stringify(w));
  assert.match(w[0]!, /^hook restart failed: uid 1000 has 2 hooks queued, its share of the queue; dropped/);
  assert.equal(w[1], '26 hooks of uid 1000 dropped (the hook queue, or that uid\'s share of it, was full)');
});

test('close(): queued hooks are dropped with one line, running ones finish, nothing starts after', async () => {
  const log = fakeLogger();
  const ran = file('close-ran.txt');
  fs.writeFileSync(ran, '');
  const hook = file('close.js');
  fs.writeFileSync(hook, `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(ran)}, JSON.parse(process.argv[2]).name + '\\n');\nsetTimeout(() => {}, 300);\n`, { mode: 0o755 });
  const r = new ExecHookRunner(opts({ paths: { stop: hook }, concurrency: 1, maxQueued: 100 }), log);
  for (let i = 0; i < 5; i++) r.fire('stop', { name: `h${i}`, uid: 0 });
  await waitFor('the first hook to run', () => fs.readFileSync(ran, 'utf8').includes('h0'));
  const t0 = Date.now();
  r.close();
  r.fire('stop', { name: 'late', uid: 0 });
  await withDeadline(r.idle(), 5000, 'idle after close');
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(fs.readFileSync(ran, 'utf8').trim().split('\n'), ['h0']);
  assert.deepEqual(log.warns().map((l) => l.msg), ['shutting down: 4 queued hooks dropped (running ones get hook_timeout at most)']);
});

test('idle() resolves at once with nothing configured or running', async () => {
  const r = new ExecHookRunner(opts({ paths: {} }), fakeLogger());
  r.fire('start', { name: 'nothing' });
  await withDeadline(r.idle(), 1000, 'idle');
});
