/** The README's command table, made from the command table (`make readme` writes it; a test checks it). */
import { usageLine } from './parse';
import { COMMANDS } from './table';

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** Markdown: one row per command with its aliases, usage and flags. */
export function commandsMarkdown(): string {
  const rows = COMMANDS.map((c) => {
    const flags = c.flags.map((f) => `\`${f.short ? `-${f.short}, ` : ''}--${[f.long, ...(f.alsoLong ?? [])].join('/--')}\``).join(' ');
    return `| \`${c.name}\` | ${c.aliases.map((a) => `\`${a}\``).join(' ')} | \`${cell(usageLine(c))}\` | ${cell(c.summary)} | ${flags} |`;
  });
  return ['| command | aliases | usage | what it does | flags |', '|---|---|---|---|---|', ...rows, ''].join('\n');
}

/** Replace the table between the markers in a README's text. */
export function withCommandsTable(readme: string): string {
  const begin = '<!-- commands:begin (make readme) -->\n';
  const end = '<!-- commands:end -->';
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error('README.md has no <!-- commands:begin (make readme) --> ... <!-- commands:end --> markers');
  return readme.slice(0, a + begin.length) + commandsMarkdown() + readme.slice(b);
}
