/**
 * An import's apps as our apps file (YAML), warnings as comments on top, and the check that it
 * is one: parsed back through internal/apps/file.ts exactly as `apply -f` would read it.
 */
import { stringify } from 'yaml';
import { type AppSpec, parseApps } from '../apps/file';
import { type ImportResult, formatWarning } from './types';

/** The apps file text: a header naming the source and format, each warning as a comment, then `apps:`. */
export function toAppsYaml(r: ImportResult, source: string): string {
  const head = [`# imported by pmon3 import from ${source} (${r.format})`, ...r.warnings.map((w) => `# warning: ${formatWarning(w).replace(/\n/g, ' ')}`)];
  const body = stringify({ apps: r.apps }, { lineWidth: 0 });
  return `${head.join('\n')}\n${body}`;
}

/**
 * The specs our apps file reader makes of the import (as if written to `file`): the same checks
 * as apply's, so a reader's mistake is an error here, not a surprise later. Relative paths the
 * reader left relative resolve against file's directory.
 */
export function checkedApps(r: ImportResult, file: string): AppSpec[] {
  return parseApps(stringify({ apps: r.apps }, { lineWidth: 0 }), file, 'yaml', () => {
    throw new Error('an imported app names no env_file (its variables are inlined)');
  });
}
