/** `pmon3 help`, `pmon3 help CMD`, `pmon3 CMD --help`: text made from the command table. */
import { EXIT_CODES } from '../protocol/errors';
import { usageLine } from './parse';
import { type CommandDef, COMMANDS, type FlagDef, GLOBAL_FLAGS } from './table';

/** Wrap text to width, indenting continuation lines by indent. */
function wrap(text: string, width: number, indent = 0): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && cur.length + 1 + w.length > width - indent) {
      lines.push(cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines.map((l, i) => (i === 0 ? l : ' '.repeat(indent) + l)).join('\n');
}

/** Two columns: left padded to the widest left cell, right wrapped. */
function columns(rows: Array<[string, string]>, width: number): string {
  const left = Math.min(30, Math.max(...rows.map(([l]) => l.length)));
  return rows
    .map(([l, r]) => {
      const pad = l.length > left ? `${l}\n${' '.repeat(left + 4)}` : l.padEnd(left + 2);
      return `  ${pad}${wrap(r, width, left + 4)}`;
    })
    .join('\n');
}

function flagCell(f: FlagDef): string {
  const long = `--${f.long}${f.type === 'boolean' ? '' : ` ${f.placeholder ?? 'VALUE'}`}`;
  return f.short ? `-${f.short}, ${long}` : `    ${long}`;
}

function flagText(f: FlagDef): string {
  const extra: string[] = [];
  if (f.values && f.type !== 'boolean') extra.push(`one of ${f.values.join(', ')}`);
  if (f.default !== undefined) extra.push(`default ${String(f.default)}`);
  if (f.alsoLong?.length) extra.push(`also ${f.alsoLong.map((l) => `--${l}`).join(', ')}`);
  return extra.length ? `${f.description} (${extra.join('; ')})` : f.description;
}

const EXIT_LINE = `Exit codes: 0 ok, ${Object.entries(EXIT_CODES)
  .sort((a, b) => a[1] - b[1])
  .map(([code, n]) => `${n} ${code.toLowerCase().replace(/_/g, ' ')}`)
  .join(', ')}.`;

/** The top-level help. */
export function topHelp(version: string, width = 80): string {
  const cmds = columns(
    COMMANDS.map((c) => [[c.name, ...c.aliases].join(', '), c.summary]),
    width,
  );
  const flags = columns(
    [...GLOBAL_FLAGS.map((f): [string, string] => [flagCell(f), f.description]), ['-v, --version', "print pmon3's version"]],
    width,
  );
  return [
    `pmon3 ${version}: a process manager for Linux servers (the CLI; pmond is the daemon)`,
    '',
    'Usage: pmon3 COMMAND [ARGUMENTS] [flags]',
    '',
    'Commands:',
    cmds,
    '',
    'Flags of every command:',
    flags,
    '',
    wrap('A TARGET is a process id, a name, or user/name (root and admin_group); stop, start, restart, del and reset also take all.', width),
    wrap(EXIT_LINE, width),
    'pmon3 help COMMAND shows its arguments, flags and examples.',
  ].join('\n');
}

/** One command's help. */
export function commandHelp(cmd: CommandDef, width = 80): string {
  const out: string[] = [`pmon3 ${cmd.name}: ${cmd.summary}`, '', `Usage: ${usageLine(cmd)}`];
  if (cmd.aliases.length) out.push(`Aliases: ${cmd.aliases.join(', ')}`);
  if (cmd.description) out.push('', wrap(cmd.description, width));
  if (cmd.args.length) {
    out.push('', 'Arguments:', columns(cmd.args.map((a) => [a.name.toUpperCase() + (a.variadic ? '...' : ''), a.description + (a.required ? '' : ' (optional)')]), width));
  }
  const flags = [...cmd.flags, ...GLOBAL_FLAGS];
  out.push('', 'Flags:', columns(flags.map((f) => [flagCell(f), flagText(f)]), width));
  out.push('', wrap(`With --json: ${cmd.json}.`, width));
  out.push('', 'Examples:', ...cmd.examples.map((e) => `  $ pmon3 ${e}`));
  return out.join('\n');
}

/** What `help --json` prints: the table entry, or every command's. */
export function helpJson(cmd?: CommandDef): unknown {
  return cmd ?? COMMANDS.map((c) => ({ name: c.name, aliases: c.aliases, summary: c.summary }));
}
