/** What the import readers' tests share: their fixtures, reading through fs as the CLI would, and the one-line refusal. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ImportOptions } from '../../internal/import/types';

/** test/fixtures/import/<format>/<name> in the source tree (the tests run from dist/test/unit). */
export function fixture(format: string, ...name: string[]): string {
  return path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'import', format, ...name);
}

/** Reading and listing as the caller: plain fs, every file read recorded. */
export function fsOptions(extra: Partial<ImportOptions> = {}): ImportOptions & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read: (p) => {
      reads.push(p);
      return fs.readFileSync(p, 'utf8');
    },
    list: (d) => fs.readdirSync(d).sort(),
    ...extra,
  };
}

/** An INVALID_ARGUMENT of one line starting with `at: ` (FILE:LINE) and matching `what`. */
export function refusedAt(f: () => unknown, at: string, what: RegExp): void {
  assert.throws(f, (e: any) => {
    assert.equal(e.code, 'INVALID_ARGUMENT', e.message);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.ok(e.message.startsWith(`${at}: `), `${e.message} starts with ${at}: `);
    assert.match(e.message, what);
    return true;
  });
}
