/**
 * log -a's reading (internal/server/log-all.ts) through a real log reader: copies oldest first,
 * .gz decompressed streaming (several members too), the text bound per copy (a bomb stops there,
 * a plain copy keeps its newest text), damaged gzip noted after the text before the damage,
 * characters never split between chunks, and reading stops once the client is gone.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, test } from 'node:test';
import { execHelperPath, loadNative } from '../../internal/native';
import { sendCopies, sendPlain, type TextSink } from '../../internal/server/log-all';
import { type LogFiles, LogReaders } from '../../internal/server/log-reader';
import { ROOT } from '../helpers/daemon';
import { tempDir } from '../helpers/tmp';

const native = loadNative(ROOT);
const me = { uid: process.getuid!(), gid: process.getgid!(), groups: [process.getgid!()] };
let dir: string;
let files: LogFiles;

before(async () => {
  dir = tempDir('pmla-');
  files = await new LogReaders(execHelperPath(ROOT), (b) => native.memfd(b)).start(me, { uid: me.uid, admin: false });
});
after(() => {
  files?.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

const collect = (): TextSink & { text: string; sends: string[] } => {
  const s = { text: '', sends: [] as string[], gone: () => false, send: async (t: string) => void (s.sends.push(t), (s.text += t)) };
  return s;
};

test('copies oldest first; several gzip members; the bound per copy; damaged gzip noted after its good text', async () => {
  const sub = fs.mkdtempSync(path.join(dir, 'a-'));
  const log = path.join(sub, 'x.log');
  fs.writeFileSync(log, 'now\n');
  fs.writeFileSync(`${log}.4.gz`, Buffer.concat([zlib.gzipSync('four a\n'), zlib.gzipSync('four b\n')]));
  fs.writeFileSync(`${log}.3.gz`, zlib.gzipSync(Buffer.alloc(5000, 'z')));
  fs.writeFileSync(`${log}.2`, `${'o'.repeat(1500)}\nnewest\n`);
  // 2 MB of numbered lines (well over one piece compressed), then garbage.
  const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i}\n`).join('');
  fs.writeFileSync(`${log}.1.gz`, Buffer.concat([zlib.gzipSync(lines), Buffer.from('garbage!')]));
  const sink = collect();
  const info = await sendCopies(log, files, me.uid, sink, 1_000_000, 256);
  assert.deepEqual(info.files, [`${log}.4.gz`, `${log}.3.gz`, `${log}.2`, `${log}.1.gz`]);
  assert.deepEqual(info.skipped, []);
  const head = `four a\nfour b\n${'z'.repeat(5000)}${'o'.repeat(1500)}\nnewest\n`;
  assert.equal(sink.text.slice(0, head.length), head);
  // The damaged copy: its first 1 MB of text (the bound), whole lines from its start.
  assert.equal(sink.text.slice(head.length), lines.slice(0, 1_000_000));
  assert.deepEqual(info.notes, [`${log}.1.gz: stopped after 1000000 bytes of decompressed text (the most read of one copy)`]);
  // Smaller bounds: the bomb-like copy stops, the plain copy keeps its newest text; damage is noted.
  const small = collect();
  const cut = await sendCopies(log, files, me.uid, small, 1000, 256);
  assert.equal(small.text.slice(0, 14 + 1000 + 1000), `four a\nfour b\n${'z'.repeat(1000)}${'o'.repeat(1000 - 8)}\nnewest\n`);
  assert.equal(cut.notes.length, 3, cut.notes.join('\n'));
  assert.match(cut.notes[0]!, /x\.log\.3\.gz: stopped after 1000 bytes of decompressed text/);
  assert.match(cut.notes[1]!, /x\.log\.2: only its last 1000 bytes shown/);
  assert.match(cut.notes[2]!, /x\.log\.1\.gz: stopped after 1000 bytes/);
  fs.writeFileSync(`${log}.1.gz`, Buffer.concat([zlib.gzipSync(lines), Buffer.from('garbage!')]).subarray(0, 5000));
  const damaged = collect();
  const d = await sendCopies(log, files, me.uid, damaged, 1_000_000, 256);
  assert.match(d.notes[0]!, /x\.log\.1\.gz: damaged gzip \(unexpected end of file\)/);
  const shown = damaged.text.slice(head.length);
  assert.ok(shown.length > 1000 && lines.startsWith(shown), `the text before the damage (${shown.length} characters)`);
  fs.writeFileSync(`${log}.1.gz`, Buffer.concat([zlib.gzipSync(lines), Buffer.from('garbage!')]));
  const trailing = collect();
  const t = await sendCopies(log, files, me.uid, trailing, 4_000_000, 256);
  assert.match(t.notes[0]!, /x\.log\.1\.gz: damaged gzip/);
  assert.ok(lines.startsWith(trailing.text.slice(head.length)) && trailing.text.length - head.length > lines.length - 100_000, 'all but its last piece');
  for (const s of sink.sends) assert.ok(Buffer.byteLength(s) <= 64 * 1024);
});

test('a directory that cannot be listed is a note, not a failure; the client gone stops the reading', async () => {
  const info = await sendCopies(path.join(dir, 'nope', 'x.log'), files, me.uid, collect());
  assert.deepEqual(info, { files: [], skipped: [], notes: [`cannot list ${path.join(dir, 'nope')} for rotated copies (ENOENT)`] });
  const sub = fs.mkdtempSync(path.join(dir, 'b-'));
  const log = path.join(sub, 'x.log');
  for (let i = 1; i <= 5; i++) fs.writeFileSync(`${log}.${i}`, `${i}\n`);
  let sends = 0;
  const gone = await sendCopies(log, files, me.uid, { gone: () => sends >= 2, send: async () => void sends++ });
  assert.equal(sends, 2);
  assert.deepEqual(gone.files, [`${log}.5`, `${log}.4`]);
});

test('a character is never split between two chunks', async () => {
  const f = path.join(dir, 'utf8.log');
  fs.writeFileSync(f, 'é'.repeat(100)); // 2 bytes each; chunks of 3 bytes cut every other one
  const o = await files.open(f);
  const sink = collect();
  assert.equal(await sendPlain(files, o.fd, 0, o.size, sink, 3), 200);
  await files.close(o.fd);
  assert.equal(sink.text, 'é'.repeat(100));
  assert.ok(sink.sends.every((s) => !s.includes('\ufffd')));
});
