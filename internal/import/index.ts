/**
 * The import readers, in the order content detection tries them (the most specific first), and
 * the one entry `pmon3 import` uses: read a file or directory of another manager's configuration
 * (through the caller's own reads), detect or take its format, return our apps and warnings.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { invalidArgument } from '../protocol/errors';
import { detectFibRunner, importFibRunner } from './fib-runner';
import { detectFirestarter, importFirestarter } from './firestarter';
import { detectMeproc, importMeproc } from './meproc';
import { detectPm2, importPm2 } from './pm2';
import { detectPm2Dump, importPm2Dump } from './pm2-dump';
import { detectPmon3Go, importPmon3Go } from './pmon3-go';
import { detectPmon3GoDb, importPmon3GoDb } from './pmon3-go-db';
import { detectSupervisorRs, importSupervisorRs } from './supervisor-rs';
import { detectSupervisord, importSupervisord } from './supervisord';
import { FORMATS, type ImportFormat, type ImportOptions, type ImportResult } from './types';

export interface Importer {
  format: ImportFormat;
  /** Whether text (a file's first 64 KiB; for a binary format its first bytes as latin1) looks like this format. */
  detect(text: string, file: string): boolean;
  read(file: string, opts: ImportOptions): ImportResult;
}

/** Every reader, in detection order (the most specific first: a binary header, then keys only one format has). */
const READERS: readonly Importer[] = [
  { format: 'pmon3-go-db', detect: detectPmon3GoDb, read: importPmon3GoDb },
  { format: 'pm2-dump', detect: detectPm2Dump, read: importPm2Dump },
  { format: 'pm2', detect: detectPm2, read: importPm2 },
  { format: 'supervisord', detect: detectSupervisord, read: (file, opts) => importSupervisord(file, { ...opts, hostname: os.hostname() }) },
  { format: 'pmon3-go', detect: detectPmon3Go, read: importPmon3Go },
  { format: 'fib-runner', detect: detectFibRunner, read: importFibRunner },
  { format: 'supervisor-rs', detect: detectSupervisorRs, read: importSupervisorRs },
  { format: 'firestarter', detect: detectFirestarter, read: importFirestarter },
  { format: 'meproc', detect: detectMeproc, read: importMeproc },
];

export function importers(): readonly Importer[] {
  return READERS;
}

/** The file a directory stands for: the first of these names it holds. */
const ENTRY_FILES = ['runner.json', 'server.yaml', 'server.yml', 'supervisord.conf', 'ecosystem.config.json', 'ecosystem.json', 'ecosystem.config.yaml', 'ecosystem.yaml', 'dump.pm2', 'process.config.json', 'process.config.yaml', 'process.config.toml', 'data.db'];

export interface ImportRequest {
  path: string;
  from?: string;
  opts: ImportOptions;
  /** The first bytes of a file (as latin1 text), for detection; the CLI reads them as the caller. */
  head: (file: string) => string;
  isDir: (p: string) => boolean;
}

export function importPath(req: ImportRequest): ImportResult {
  let file = req.path;
  if (req.isDir(file)) {
    const names = req.opts.list(file);
    const entry = ENTRY_FILES.find((n) => names.includes(n));
    if (entry) file = path.join(file, entry);
    else {
      // No entry file: the one file in it some reader recognises (never a guess among several).
      const dir = file;
      const known = names.filter((n) => !n.startsWith('.') && !req.isDir(path.join(dir, n)) && READERS.some((r) => r.detect(req.head(path.join(dir, n)), path.join(dir, n))));
      if (known.length !== 1) {
        throw invalidArgument(
          known.length === 0
            ? `${dir}: no file in it is a configuration pmon3 knows; name the file`
            : `${dir}: several configurations in it (${known.slice(0, 5).join(', ')}${known.length > 5 ? ', ...' : ''}); name the file`,
        );
      }
      file = path.join(dir, known[0]!);
    }
  }
  if (/\.(c|m)?js$/.test(file) && (req.from === undefined || req.from === 'pm2')) {
    throw invalidArgument(
      `${file}: a JavaScript ecosystem file is never run; export it as JSON first: node -e 'console.log(JSON.stringify(require(process.argv[1]), null, 2))' ${JSON.stringify(file)} > ecosystem.json`,
    );
  }
  if (req.from !== undefined) {
    if (!(FORMATS as readonly string[]).includes(req.from)) throw invalidArgument(`--from ${req.from.slice(0, 40)}: one of ${FORMATS.join(', ')}`);
    const r = READERS.find((x) => x.format === req.from);
    if (!r) throw invalidArgument(`--from ${req.from}: this pmon3 has no reader for it yet`);
    return r.read(file, req.opts);
  }
  const head = req.head(file);
  const r = READERS.find((x) => x.detect(head, file));
  if (!r) throw invalidArgument(`${file}: not a configuration pmon3 knows (give --from: ${READERS.map((x) => x.format).join(', ')})`);
  return r.read(file, req.opts);
}
