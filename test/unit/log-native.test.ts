/**
 * pmon3-log (internal/native/log.c), the native per-instance logger, run for real: its stdin a
 * pipe from this process, its log directory an fd it inherits (fd 3, O_DIRECTORY). Floods keep
 * every line exactly once and whole, with files within --size; SIGHUP rotates at a line
 * boundary, SIGTERM does not end it before EOF; --timestamps, --compress, --keep, --max-total;
 * symlinks, hard links and FIFOs planted in the directory are never followed or written
 * through; a bad command line is refused with exit 2 and one line; a full file system drops
 * input with a marker and never blocks the writer; RSS stays small under a flood.
 *
 * The main flood is 200 MB (PMON3_LOG_FLOOD_MB overrides it, e.g. 50 on a slow machine).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, describe, test } from 'node:test';
import { ROOT } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';
import { pidAlive, waitFor } from '../helpers/wait';

const BIN = path.join(ROOT, 'build', 'Release', 'pmon3-log');
const FLOOD_MB = Number(process.env.PMON3_LOG_FLOOD_MB) || 200;
const PAD = 'x'.repeat(200);
const BASE = 'web.log';

/** Line i: its number (9 digits), a space, i % 97 x's: a reader can tell a whole line from a piece. */
const line = (i: number): string => `${String(i).padStart(9, '0')} ${PAD.slice(0, i % 97)}\n`;
const MAX_LINE = 10 + 96 + 1;

interface Logger {
  child: ChildProcess;
  pid: number;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** pmon3-log on DIR (as fd 3) with ARGS after --dir-fd 3 --name web.log. stderr is collected. */
/** The signals pending for the whole process (ShdPnd in /proc/PID/status), as a bit mask. */
function pendingSignals(pid: number): bigint {
  return BigInt(`0x${/^ShdPnd:\s+([0-9a-f]+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]}`);
}

/** Loggers still running: a test that fails midway leaves none behind (they would hold the run open). */
const started = new Set<ChildProcess>();
after(() => {
  for (const c of started) c.kill('SIGKILL');
});

function start(dir: string, args: string[] = []): Logger {
  const dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  let err = '';
  try {
    const child = spawn(BIN, ['--dir-fd', '3', '--name', BASE, ...args], { stdio: ['pipe', 'inherit', 'pipe', dirFd] });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    started.add(child);
    child.once('exit', () => started.delete(child));
    return { child, pid: child.pid!, err: () => err, exited };
  } finally {
    fs.closeSync(dirFd);
  }
}

/** Writes lines [from, to) in ~1 MiB chunks, waiting for 'drain' when the pipe is full. */
async function feed(l: Logger, from: number, to: number): Promise<number> {
  let bytes = 0;
  for (let i = from; i < to; ) {
    const parts: string[] = [];
    let len = 0;
    while (i < to && len < 1 << 20) {
      const s = line(i++);
      parts.push(s);
      len += s.length;
    }
    bytes += len;
    if (!l.child.stdin!.write(parts.join(''))) await once(l.child.stdin!, 'drain');
  }
  return bytes;
}

/** Ends stdin and waits for a clean exit (0, no signal). */
async function finish(l: Logger): Promise<void> {
  l.child.stdin!.end();
  assert.deepEqual(await l.exited, { code: 0, signal: null }, `pmon3-log's exit (stderr: ${l.err()})`);
}

/** How many lines the whole flood has. */
function linesFor(bytes: number): number {
  let n = 0;
  for (let b = 0; b < bytes; n++) b += line(n).length;
  return n;
}

/** BASE's files, oldest first: BASE.K(.gz) .. BASE.1(.gz), BASE; text gunzipped. */
function logFiles(dir: string): Array<{ name: string; size: number; text: string }> {
  const rotated = fs
    .readdirSync(dir)
    .map((n) => /^web\.log\.(\d+)(\.gz)?$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]));
  const out = rotated.map((m) => {
    const raw = fs.readFileSync(path.join(dir, m[0]));
    return { name: m[0], size: raw.length, text: (m[2] ? zlib.gunzipSync(raw) : raw).toString('latin1') };
  });
  if (fs.existsSync(path.join(dir, BASE))) {
    const raw = fs.readFileSync(path.join(dir, BASE));
    out.push({ name: BASE, size: raw.length, text: raw.toString('latin1') });
  }
  return out;
}

/**
 * The line numbers in TEXT, in order, checking that each line is whole (its padding is the one
 * its number says) and the text ends at a line's end. `prefix` strips e.g. a timestamp first.
 */
function numbers(text: string, where: string, prefix = 0): number[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${where} ends at a line's end`);
  const out: number[] = [];
  const lines = text.split('\n');
  lines.pop();
  for (const raw of lines) {
    const l = raw.slice(prefix);
    const n = Number(l.slice(0, 9));
    if (!(l.length === 10 + (n % 97) && l[9] === ' ' && l.slice(10) === PAD.slice(0, n % 97))) {
      assert.fail(`${where}: a line split or damaged: ${JSON.stringify(raw.slice(0, 40))}`);
    }
    out.push(n);
  }
  return out;
}

/** Every line 0..n-1 exactly once, in order, across FILES. */
function assertAllOnce(files: Array<{ name: string; text: string }>, n: number, prefix = 0): void {
  let next = 0;
  for (const f of files) {
    for (const k of numbers(f.text, f.name, prefix)) {
      if (k !== next) assert.fail(`${f.name}: line ${k} where ${next} was due (lost, repeated or out of order)`);
      next++;
    }
  }
  assert.equal(next, n, 'every line arrived');
}

/** The lines across FILES are whole and a contiguous run ending at n-1 (the oldest files removed). */
function assertTail(files: Array<{ name: string; text: string }>, n: number): number[] {
  const got = files.flatMap((f) => numbers(f.text, f.name));
  assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => n - got.length + i), 'a contiguous tail, the last line last');
  assert.equal(got[got.length - 1], n - 1);
  return got;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('pmon3-log', () => {
  test(`a ${FLOOD_MB} MB flood with --size 10 MiB --keep 30: every line once, whole, no file past size + one line`, async () => {
    const dir = tempDir('pml-');
    const size = 10 * 1024 * 1024;
    const l = start(dir, ['--size', String(size), '--keep', '30']);
    const n = linesFor(FLOOD_MB * 1e6);
    const t0 = process.hrtime.bigint();
    const bytes = await feed(l, 0, n);
    await finish(l);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`pmon3-log flood: ${(bytes / 1e6).toFixed(0)} MB in ${secs.toFixed(2)} s = ${(bytes / 1e6 / secs).toFixed(0)} MB/s`);
    const files = logFiles(dir);
    assert.ok(files.length >= Math.floor(bytes / size), `rotated (${files.length} files)`);
    for (const f of files) assert.ok(f.size <= size + MAX_LINE, `${f.name}: ${f.size} bytes`);
    assertAllOnce(files, n);
  });

  test('SIGHUP rotates at a line boundary (a pending half line goes to the new file); SIGUSR1 under a flood too', async () => {
    const dir = tempDir('pml-');
    const l = start(dir);
    await feed(l, 0, 1000);
    l.child.stdin!.write(line(1000).slice(0, 5)); // half a line, held by the logger
    const first = Array.from({ length: 1000 }, (_, i) => line(i).length).reduce((a, b) => a + b);
    await waitFor('the first 1000 lines', () => fs.existsSync(path.join(dir, BASE)) && fs.statSync(path.join(dir, BASE)).size === first);
    l.child.kill('SIGHUP');
    await waitFor('the rotation', () => fs.existsSync(path.join(dir, `${BASE}.1`)));
    l.child.stdin!.write(line(1000).slice(5));
    await feed(l, 1001, 2000);
    await waitFor('the next lines', () => fs.statSync(path.join(dir, BASE)).size > 0);
    // Under a flood: every SIGUSR1 makes one more file, none splits a line.
    // The flood goes on until the three rotations are made (a fixed length could end first on a slow machine).
    let rotating = true;
    let end = 2000;
    const flood = (async () => {
      while (rotating) {
        await feed(l, end, end + 10_000);
        end += 10_000;
      }
    })();
    const count = (): number => fs.readdirSync(dir).filter((n) => n === BASE || /^web\.log\.\d+$/.test(n)).length;
    try {
      for (let k = 0; k < 3; k++) {
        // One at a time, each once it made its file: a signal sent while the last is still pending,
        // or taken but not yet acted on, would merge with it
        const before = count();
        l.child.kill('SIGUSR1');
        await waitFor('the SIGUSR1 taken', () => pendingSignals(l.pid) === 0n, 10_000, 1);
        // ...and once the new file has a line: a request while BASE is empty rotates nothing (as logrotate's notifempty).
        await waitFor('its rotation, and a line in the new file', () => count() > before && fs.statSync(path.join(dir, BASE)).size > 0, 10_000, 2);
      }
    } finally {
      rotating = false;
      await flood;
    }
    await finish(l);
    const files = logFiles(dir);
    const f1 = files.find((f) => f.name === `${BASE}.${files.length - 1}`)!;
    assert.deepEqual(numbers(f1.text, f1.name), Array.from({ length: 1000 }, (_, i) => i), 'the first file: exactly lines 0..999');
    assert.ok(files.length >= 5, `SIGUSR1 rotated under the flood (${files.map((f) => f.name).join(' ')})`);
    assertAllOnce(files, end);
  });

  test('SIGTERM and SIGINT do not end it: lines written after them are in the file, it exits 0 at EOF', async () => {
    const dir = tempDir('pml-');
    const l = start(dir);
    const bytes = await feed(l, 0, 100);
    // Its signal set-up is done once it has written (a signal before that would meet the default).
    await waitFor('the first lines', () => fs.existsSync(path.join(dir, BASE)) && fs.statSync(path.join(dir, BASE)).size === bytes);
    l.child.kill('SIGTERM');
    l.child.kill('SIGINT');
    // Ignored signals are dropped as they are sent: none is left pending, and it still runs.
    await waitFor('no signal pending', () => pendingSignals(l.pid) === 0n);
    assert.ok(pidAlive(l.pid), 'still running after SIGTERM');
    await feed(l, 100, 200);
    await finish(l);
    assertAllOnce(logFiles(dir), 200);
  });

  test('--timestamps: every line starts with an RFC 3339 UTC time with milliseconds and a space', async () => {
    const dir = tempDir('pml-');
    const before = Date.now();
    const l = start(dir, ['--timestamps', '--size', '200000', '--keep', '100']);
    await feed(l, 0, 20_000);
    await finish(l);
    const after = Date.now();
    const files = logFiles(dir);
    assert.ok(files.length > 1, 'rotated');
    for (const f of files) {
      for (const t of f.text.split('\n').slice(0, -1)) {
        const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /.exec(t);
        assert.ok(m, `${f.name}: ${JSON.stringify(t.slice(0, 40))}`);
        const at = Date.parse(m[1]!);
        assert.ok(at >= before - 5 && at <= after + 5, `${m[1]} within the run`);
      }
      assert.ok(f.size <= 200000 + MAX_LINE + 25, `${f.name}: ${f.size} bytes`);
    }
    assertAllOnce(files, 20_000, 25);
  });

  test('--compress: rotated files are valid gzip (BASE.N.gz), none left plain after EOF; with BASE every line once', async () => {
    const dir = tempDir('pml-');
    const l = start(dir, ['--compress', '--size', '100000', '--keep', '100']);
    await feed(l, 0, 60_000);
    await finish(l);
    const names = fs.readdirSync(dir).sort();
    assert.ok(names.filter((n) => n.endsWith('.gz')).length >= 20, `compressed: ${names.join(' ')}`);
    assert.deepEqual(names.filter((n) => /^web\.log\.\d+$/.test(n) || n.startsWith('.')), [], 'no plain rotated file, no temp file left');
    const files = logFiles(dir); // gunzipSync throws on anything that is not valid gzip
    for (const f of files.filter((f) => f.name.endsWith('.gz'))) assert.ok(f.size < f.text.length / 2, `${f.name} compressed`);
    assertAllOnce(files, 60_000);
  });

  test('--keep 3: the oldest files are removed, the newest lines kept', async () => {
    const dir = tempDir('pml-');
    const l = start(dir, ['--size', '10000', '--keep', '3']);
    await feed(l, 0, 5000);
    await finish(l);
    assert.deepEqual(fs.readdirSync(dir).sort(), [BASE, `${BASE}.1`, `${BASE}.2`, `${BASE}.3`]);
    const got = assertTail(logFiles(dir), 5000);
    assert.ok(got.length < 5000 && got.length > 400, `${got.length} lines kept`);
  });

  test('--max-total with --size: the sum of all files stays under it during a flood (oldest files removed)', async () => {
    const dir = tempDir('pml-');
    const max = 350_000;
    const l = start(dir, ['--size', '100000', '--keep', '30', '--max-total', String(max)]);
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        let sum = 0;
        for (const n of fs.readdirSync(dir)) {
          try {
            sum += fs.statSync(path.join(dir, n)).size;
          } catch {
            /* rotated away meanwhile */
          }
        }
        peak = Math.max(peak, sum);
        await sleep(2);
      }
    })();
    await feed(l, 0, 100_000);
    await finish(l);
    sampling = false;
    await sampler;
    const files = logFiles(dir);
    const total = files.reduce((s, f) => s + f.size, 0);
    assert.ok(total <= max && peak <= max + 100_000, `total ${total}, peak seen ${peak} (a sample may see a rename half-way)`);
    assert.ok(total > max - 100_000 - MAX_LINE, `kept close to the bound: ${total}`);
    assertTail(files, 100_000);
    assert.ok(!files.some((f) => f.text.includes('dropped')), 'nothing dropped: removing old files was enough');
  });

  test('--max-total alone: the current file stops below it, the rest is dropped and counted in a marker line', async () => {
    const dir = tempDir('pml-');
    const max = 200_000;
    const l = start(dir, ['--max-total', String(max)]);
    const bytes = await feed(l, 0, 20_000);
    await finish(l);
    const text = fs.readFileSync(path.join(dir, BASE), 'latin1');
    assert.ok(text.length <= max, `${text.length} bytes`);
    const m = /pmon3-log: dropped (\d+) bytes \(max-total\)\n$/.exec(text);
    assert.ok(m, `the marker ends the file: ${JSON.stringify(text.slice(-80))}`);
    const kept = text.slice(0, m.index);
    assert.equal(kept.length + Number(m[1]), bytes, 'what is kept plus what is counted is what was written');
    assert.deepEqual(numbers(kept, BASE), Array.from({ length: numbers(kept, BASE).length }, (_, i) => i), 'the first lines, whole');
  });

  test('--every 1: rotates a second after start (at a line boundary), an empty file is not rotated', async () => {
    const dir = tempDir('pml-');
    const l = start(dir, ['--every', '1']);
    const bytes = await feed(l, 0, 10);
    l.child.stdin!.write(line(10).slice(0, 4)); // held until its newline: the rotation does not wait for it
    await waitFor('the first lines', () => fs.existsSync(path.join(dir, BASE)) && fs.statSync(path.join(dir, BASE)).size === bytes);
    await waitFor('the timed rotation', () => fs.existsSync(path.join(dir, `${BASE}.1`)), 3000);
    l.child.stdin!.write(line(10).slice(4));
    await feed(l, 11, 20);
    // The next period rotates the current file once (it has lines); then it is empty.
    await waitFor('the second rotation', () => fs.existsSync(path.join(dir, `${BASE}.2`)), 4000);
    // A rotation asked for now (the timer's and SIGHUP's are one path) meets an empty file: none.
    // The logger has taken the signal once it is no longer pending (signalfd); EOF comes after.
    l.child.kill('SIGHUP');
    await waitFor('the SIGHUP taken', () => pendingSignals(l.pid) === 0n);
    await finish(l);
    assert.deepEqual(fs.readdirSync(dir).sort(), [BASE, `${BASE}.1`, `${BASE}.2`], 'an empty file is not rotated');
    const files = logFiles(dir);
    assert.deepEqual(numbers(files[0]!.text, files[0]!.name), Array.from({ length: 10 }, (_, i) => i));
    assertAllOnce(files, 20);
  });

  test('a line longer than the 64 KiB buffer: written in 64 KiB pieces, split across files only once a file is full', async () => {
    const dir = tempDir('pml-');
    const l = start(dir, ['--size', '100000', '--keep', '10']);
    const long = (c: string, n: number): string => `${c.repeat(n)}\n`;
    const input = [line(0), long('a', 90_000), line(1), long('b', 300_000), line(2)].join('');
    l.child.stdin!.write(input);
    await finish(l);
    const files = logFiles(dir);
    assert.equal(files.map((f) => f.text).join(''), input, 'every byte once, in order');
    // Line 0, a's line (its first 64 KiB still fit: the logger cannot know how long a line will be)
    // and line 1; b's line starts a file (its first piece would pass --size), each file takes
    // pieces until it is full (two here), line 2 follows b's end.
    assert.deepEqual(files.map((f) => f.text.length), [11 + 90_001 + 12, 131_072, 131_072, 300_001 - 262_144 + 13]);
    for (const f of files) assert.ok(f.text.length <= 100_000 + 65_536, `${f.name}: within --size + one buffer`);
  });

  test('--owner and --mode: files it creates get them (a file that exists keeps its owner)', async (t) => {
    if (process.getuid!() !== 0) return t.skip('needs root to give files away');
    const dir = tempDir('pml-');
    fs.writeFileSync(path.join(dir, BASE), line(0), { mode: 0o644 });
    const l = start(dir, ['--owner', '4242:4343', '--mode', '0600', '--size', '1000', '--compress']);
    await feed(l, 1, 100);
    await finish(l);
    const names = fs.readdirSync(dir).sort();
    assert.ok(names.includes(`${BASE}.1.gz`), names.join(' '));
    for (const n of names) {
      const st = fs.statSync(path.join(dir, n));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [4242, 4343, 0o600], n);
    }
    assertTail(logFiles(dir), 100);
  });

  test('--compress at start: a rotated file left plain is compressed, a plain one beside its .gz removed', async () => {
    const dir = tempDir('pml-');
    fs.writeFileSync(path.join(dir, `${BASE}.1`), line(1));
    fs.writeFileSync(path.join(dir, `${BASE}.2`), line(0)); // a crash after its .gz was complete
    fs.writeFileSync(path.join(dir, `${BASE}.2.gz`), zlib.gzipSync(line(0)));
    fs.writeFileSync(path.join(dir, `.${BASE}.gz-tmp`), 'half');
    const l = start(dir, ['--compress']);
    await feed(l, 2, 3);
    await finish(l);
    assert.deepEqual(fs.readdirSync(dir).sort(), [BASE, `${BASE}.1.gz`, `${BASE}.2.gz`]);
    assertAllOnce(logFiles(dir), 3);
  });

  test('symlinks, a hard link and a FIFO planted in the directory: never followed, never written through or read', async () => {
    const dir = tempDir('pml-');
    const outside = tempDir('pmlo-');
    const secret = path.join(outside, 'secret');
    const other = path.join(outside, 'other');
    fs.writeFileSync(secret, 'secret\n', { mode: 0o600 });
    fs.writeFileSync(other, 'other\n', { mode: 0o600 });
    const stat0 = fs.statSync(secret);
    fs.symlinkSync(secret, path.join(dir, BASE));
    fs.symlinkSync(secret, path.join(dir, `${BASE}.1`));
    fs.linkSync(other, path.join(dir, `${BASE}.2`)); // a hard link: same inode as a file outside
    const l = start(dir, ['--size', '20000', '--keep', '3', '--compress']);
    await feed(l, 0, 300);
    await waitFor('BASE replaced by a file', () => fs.lstatSync(path.join(dir, BASE)).isFile());
    // The compression of BASE.2 (a hard link) or of a symlink is never attempted: nothing outside
    // is read into the directory. After enough rotations they are shifted out and removed as names.
    await feed(l, 300, 3000);
    await finish(l);
    assert.equal(fs.readFileSync(secret, 'utf8'), 'secret\n', 'the symlink target is unchanged');
    assert.equal(fs.readFileSync(other, 'utf8'), 'other\n', 'the hard-linked file is unchanged');
    assert.equal(fs.statSync(secret).mtimeMs, stat0.mtimeMs);
    assert.equal(fs.statSync(other).nlink, 1, 'the planted link was removed as a name');
    for (const n of fs.readdirSync(dir)) {
      const st = fs.lstatSync(path.join(dir, n));
      assert.ok(st.isFile() && st.nlink === 1, `${n} is a plain file now`);
      if (n.endsWith('.gz')) assert.ok(!zlib.gunzipSync(fs.readFileSync(path.join(dir, n))).includes('secret'), `${n}`);
    }
    assert.match(l.err(), /replaced something that was not a plain file/);
    assertTail(logFiles(dir), 3000);
  });

  test('a FIFO planted as BASE does not block it: replaced by a file', async () => {
    const dir = tempDir('pml-');
    const r = spawnSync('mkfifo', [path.join(dir, BASE)]);
    assert.equal(r.status, 0, String(r.stderr));
    const l = start(dir);
    await feed(l, 0, 100);
    await finish(l);
    assert.ok(fs.lstatSync(path.join(dir, BASE)).isFile());
    assertAllOnce(logFiles(dir), 100);
  });

  describe('a bad command line: exit 2, one line on stderr naming the flag', () => {
    const dir = tempDir('pml-');
    const cases: Array<[string, string[], RegExp]> = [
      ['--name ../x', ['--dir-fd', '3', '--name', '../x'], /--name/],
      ['--name a/b', ['--dir-fd', '3', '--name', 'a/b'], /--name/],
      ["--name ''", ['--dir-fd', '3', '--name', ''], /--name/],
      ['--name ..', ['--dir-fd', '3', '--name', '..'], /--name/],
      ['--name with a newline', ['--dir-fd', '3', '--name', 'a\nb'], /--name/],
      ['--name of 201 bytes', ['--dir-fd', '3', '--name', 'n'.repeat(201)], /--name/],
      ['--size -1', ['--dir-fd', '3', '--name', 'x', '--size', '-1'], /--size/],
      ['--size abc', ['--dir-fd', '3', '--name', 'x', '--size', 'abc'], /--size/],
      ['--size 0', ['--dir-fd', '3', '--name', 'x', '--size', '0'], /--size/],
      ['--size 1k', ['--dir-fd', '3', '--name', 'x', '--size', '1k'], /--size/],
      ['--size without a value', ['--dir-fd', '3', '--name', 'x', '--size'], /--size/],
      ['--keep 0', ['--dir-fd', '3', '--name', 'x', '--keep', '0'], /--keep/],
      ['--every 1.5', ['--dir-fd', '3', '--name', 'x', '--every', '1.5'], /--every/],
      ['--mode 0888', ['--dir-fd', '3', '--name', 'x', '--mode', '0888'], /--mode/],
      ['--mode 4755', ['--dir-fd', '3', '--name', 'x', '--mode', '4755'], /--mode/],
      ['--owner 1000', ['--dir-fd', '3', '--name', 'x', '--owner', '1000'], /--owner/],
      ['--max-total 10', ['--dir-fd', '3', '--name', 'x', '--max-total', '10'], /--max-total/],
      ['an unknown flag', ['--dir-fd', '3', '--name', 'x', '--bogus'], /--bogus/],
      ['an unknown flag with a newline (still one line)', ['--dir-fd', '3', '--name', 'x', '--a\nb'], /--a\?b/],
      ['--size=10 (no = form)', ['--dir-fd', '3', '--name', 'x', '--size=10'], /--size=10/],
      ['a flag twice', ['--dir-fd', '3', '--name', 'x', '--name', 'y'], /--name/],
      ['missing --dir-fd', ['--name', 'x'], /--dir-fd/],
      ['missing --name', ['--dir-fd', '3'], /--name/],
      ['--dir-fd not open', ['--dir-fd', '9', '--name', 'x'], /--dir-fd/],
      ['--dir-fd not a directory', ['--dir-fd', '0', '--name', 'x'], /--dir-fd/],
    ];
    for (const [what, args, names] of cases) {
      test(what, () => {
        const dirFd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
        try {
          const r = spawnSync(BIN, args, { stdio: ['pipe', 'pipe', 'pipe', dirFd], encoding: 'utf8', timeout: 5000 });
          assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
          assert.equal(r.stdout, '');
          assert.match(r.stderr, /^pmon3-log: [^\n]+\n$/, 'one line');
          assert.match(r.stderr, names);
        } finally {
          fs.closeSync(dirFd);
        }
      });
    }
    test('nothing was created by any of them', () => assert.deepEqual(fs.readdirSync(dir), []));
  });

  test('ENOSPC on a 1 MiB tmpfs: the writer is never blocked, input is dropped and counted in a marker once there is room', async (t) => {
    if (process.getuid!() !== 0) return t.skip('needs root to mount a tmpfs');
    const mnt = tempDir('pmlm-');
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'pmon3-log-test', mnt], { encoding: 'utf8' });
    if (m.status !== 0) return t.skip(`mount -t tmpfs failed: ${String(m.stderr).trim()}`);
    try {
      fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(700 * 1024, 1));
      const l = start(mnt);
      const t0 = Date.now();
      const bytes = await feed(l, 0, 40_000); // ~2.3 MB into ~300 KiB of room
      const phase1 = 40_000;
      await waitFor('all of it read (the pipe empty)', () => {
        const io = fs.readFileSync(`/proc/${l.pid}/io`, 'utf8');
        return Number(/rchar: (\d+)/.exec(io)![1]) >= bytes;
      });
      assert.ok(Date.now() - t0 < 10_000, 'the writer was not blocked');
      assert.ok(pidAlive(l.pid));
      // Its one line on stderr may reach this process a moment after the bytes were read.
      await waitFor('the ENOSPC line on stderr', () => /No space left on device/.test(l.err()), 5000);
      fs.unlinkSync(path.join(mnt, 'filler'));
      // Within about a second (the retry), without more input, the marker is written.
      const text = await waitFor('the marker', () => {
        const s = fs.readFileSync(path.join(mnt, BASE), 'latin1');
        return /pmon3-log: dropped \d+ bytes/.test(s) ? s : '';
      }, 5000);
      const mk = /(\n?)pmon3-log: dropped (\d+) bytes \(write: No space left on device\)\n$/.exec(text);
      assert.ok(mk, `the marker: ${JSON.stringify(text.slice(-100))}`);
      const kept = text.slice(0, mk.index);
      assert.equal(kept.length + Number(mk[2]), bytes, 'what is in the file plus what is counted is what was written');
      await feed(l, phase1, phase1 + 100);
      await finish(l);
      const after = fs.readFileSync(path.join(mnt, BASE), 'latin1').slice(text.length);
      assert.deepEqual(numbers(after, 'after the marker'), Array.from({ length: 100 }, (_, i) => phase1 + i), 'writes go on after the marker');
      const whole = kept.slice(0, kept.lastIndexOf('\n') + 1);
      assert.deepEqual(numbers(whole, 'before'), Array.from({ length: numbers(whole, 'b').length }, (_, i) => i), 'the first lines, whole');
    } finally {
      // A failure above leaves its logger running on the mount: it goes first.
      for (const c of started) c.kill('SIGKILL');
      await Promise.all([...started].map((c) => once(c, 'exit')));
      const u = spawnSync('umount', [mnt]);
      if (u.status !== 0) spawnSync('umount', ['-l', mnt]);
    }
  });

  test('RSS stays at most 2 MiB under a flood (with --timestamps and --compress)', async () => {
    const dir = tempDir('pml-');
    const l = start(dir, ['--size', '5000000', '--keep', '4', '--timestamps', '--compress']);
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const kb = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${l.pid}/status`, 'utf8'))![1]);
          peak = Math.max(peak, kb);
        } catch {
          /* exited */
        }
        await sleep(5);
      }
    })();
    await feed(l, 0, 1_000_000);
    await finish(l);
    sampling = false;
    await sampler;
    console.log(`pmon3-log VmRSS peak under a flood: ${peak} kB`);
    assert.ok(peak > 0 && peak <= 2048, `VmRSS ${peak} kB`);
  });
});
