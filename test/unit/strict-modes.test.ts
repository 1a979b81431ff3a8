/**
 * StrictModes for what root runs: the file and every directory above it must be root's and
 * writable by nobody else (sticky directories excepted), the real path of a link too. Each case
 * is an attack that must fail: a root-owned file under a directory another user owns (they could
 * rename it away and put their own), and a root-owned link leading into such a directory.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { assertRootOnly } from '../../internal/config/strict-modes';
import { tempDir } from '../helpers/tmp';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot && 'needs root (chown to another user)';
const refused = (f: string, re: RegExp) => assert.throws(() => assertRootOnly('apps file', f), (e: any) => e.code === 'PERMISSION_DENIED' && re.test(e.message));

test('root-only files pass; a file under a directory another user owns, even two levels up, is refused', { skip }, () => {
  const top = tempDir('pmsm-', 0o755);
  try {
    const ok = path.join(top, 'root', 'apps.yaml');
    fs.mkdirSync(path.dirname(ok), { mode: 0o755 });
    fs.writeFileSync(ok, 'apps: []\n', { mode: 0o644 });
    assertRootOnly('apps file', ok);
    // nobody's directory, a root directory inside it, a root file inside that.
    const hers = path.join(top, 'hers');
    fs.mkdirSync(path.join(hers, 'inner'), { recursive: true, mode: 0o755 });
    const deep = path.join(hers, 'inner', 'apps.yaml');
    fs.writeFileSync(deep, 'apps: []\n', { mode: 0o644 });
    fs.chownSync(hers, 65534, 65534);
    refused(deep, new RegExp(`apps file ${hers} is owned by uid 65534, not root`));
    // A root link in root's directory, leading to that file: its real path is checked too.
    const link = path.join(top, 'root', 'linked.yaml');
    fs.symlinkSync(deep, link);
    refused(link, /is owned by uid 65534, not root/);
    // A group-writable directory above.
    fs.chmodSync(path.join(top, 'root'), 0o775);
    refused(ok, /is writable by group or others \(mode 775\)/);
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
});
