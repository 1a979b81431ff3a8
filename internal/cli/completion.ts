/**
 * Shell completion for pmon3: the scripts `pmon3 completion bash|zsh|fish`
 * prints, and the answer to the shell's question "what may come next?".
 *
 * The shell asks by running `pmon3 --comp<shell> --compgen <index> <prev> <word>…`
 * (omelette's protocol; omelette parses it and prints the reply). That path
 * is taken before anything else is parsed (cmd/pmon3/main.ts, snapshot.ts), so a TAB costs one Node
 * start-up plus, where a process name is wanted, one `list` call to pmond
 * bounded by QUERY_TIMEOUT_MS. When pmond is down or slow the reply is just
 * what needs no daemon (commands, aliases, flags): completion never prints
 * an error and never waits long.
 *
 * The scripts are ours rather than omelette's generated ones: omelette's bash
 * script needs bash-completion's _get_comp_words_by_ref (absent on minimal
 * servers), its fish script loses an empty current word, and its zsh script
 * cannot be autoloaded from $fpath. Ours pass the words one argv entry each.
 *
 * Commands, flags and arguments come from the command table (table.ts), the
 * same one the parser and help use.
 */
import * as fs from 'node:fs';
import type { PmondClient } from '../client/client';
import { NAME_RE } from '../protocol/methods';
import { COMMANDS, commandWords, type FlagDef, GLOBAL_FLAGS } from './table';

/** Longest wait for pmond's process list during a completion. */
export const QUERY_TIMEOUT_MS = 300;

/** What a positional argument takes: a process, a file, or one of a list of words. */
type ArgKind = 'process' | 'file' | 'free' | { words: readonly string[] };
/** What a flag's value takes ('file' and 'free' leave it to the shell's file completion). */
type ValueKind = 'none' | 'file' | 'free' | 'user' | { words: readonly string[] };

/** One flag of a command. */
export interface FlagSpec {
  /** Long name, without the leading --. */
  long: string;
  /** One-letter name, without the leading -. */
  short?: string;
  /** What its value takes; 'none' for a boolean flag. */
  value: ValueKind;
}

/** One pmon3 command as completion sees it. */
export interface CommandSpec {
  /** The command's name. */
  name: string;
  /** Other names it answers to. */
  aliases: string[];
  /** Its positional arguments, in order (a variadic last one repeats). */
  args: ArgKind[];
  /** Whether the last argument takes any number of words. */
  variadic: boolean;
  /** Its own flags (not the global ones). */
  flags: FlagSpec[];
}

function flagSpec(f: FlagDef): FlagSpec {
  const value: ValueKind =
    f.type === 'boolean' ? 'none' : f.values ? { words: f.values } : f.kind === 'user' ? 'user' : f.kind === 'file' ? 'file' : 'free';
  return { long: f.long, ...(f.short ? { short: f.short } : {}), value };
}

/** Every command as completion sees it: made from the command table (table.ts). */
export const COMMAND_SPECS: readonly CommandSpec[] = COMMANDS.map((c) => ({
  name: c.name,
  aliases: [...c.aliases],
  args: c.args.map((a): ArgKind => {
    if (c.name === 'help') return { words: commandWords() };
    if (a.values) return { words: a.values };
    return a.kind === 'process' || a.kind === 'file' ? a.kind : 'free';
  }),
  variadic: c.args.some((a) => a.variadic),
  flags: c.flags.map(flagSpec),
}));

const COMMON_FLAGS: readonly FlagSpec[] = GLOBAL_FLAGS.map(flagSpec);
const TOP_FLAGS = ['--help', '--version'];
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What completing one word needs from outside: pmond's processes and the local users. */
export interface CompletionSources {
  /** The caller's processes as pmond lists them; [] when pmond cannot say. */
  processes(): Promise<Array<{ id: number; name: string }>>;
  /** Local user names (for exec --user). */
  users(): string[];
}

/**
 * The candidates for the last of `words` (the word being completed, maybe
 * empty); words[0] is the program. Not filtered by prefix: the shell
 * matches (so zsh's matcher styles keep working). An empty answer lets the
 * shell fall back to file names (exec's binary, --log, --cwd ...).
 */
export async function candidates(words: string[], src: CompletionSources): Promise<string[]> {
  const cur = words[words.length - 1] ?? '';
  const before = words.slice(1, -1);
  const cmdIndex = before.findIndex((w) => !w.startsWith('-'));
  if (cmdIndex < 0) {
    if (cur.startsWith('-')) return TOP_FLAGS;
    return commandWords();
  }
  const spec = COMMAND_SPECS.find((c) => c.name === before[cmdIndex] || c.aliases.includes(before[cmdIndex]!));
  if (!spec) return [];
  const flags = [...spec.flags, ...COMMON_FLAGS];

  // Walk what follows the command: flags, flag values and positional arguments.
  let positional = 0;
  let pendingValue: ValueKind = 'none';
  let afterDashDash = false;
  for (const w of before.slice(cmdIndex + 1)) {
    if (pendingValue !== 'none') {
      pendingValue = 'none';
      continue;
    }
    if (afterDashDash) continue;
    if (w === '--') {
      afterDashDash = true;
      continue;
    }
    if (w.startsWith('-') && w.length > 1) {
      const f = findFlag(flags, w);
      if (f && f.value !== 'none' && !w.includes('=')) pendingValue = f.value;
      continue;
    }
    positional++;
  }
  if (afterDashDash) return []; // the program's own arguments
  if (pendingValue !== 'none') return valueCandidates(pendingValue, src);
  if (cur.startsWith('-')) {
    return flags.map((f) => `--${f.long}`);
  }
  const kind = spec.args[positional] ?? (spec.variadic ? spec.args[spec.args.length - 1] : undefined);
  if (typeof kind === 'object') return [...kind.words];
  if (kind === 'process') {
    const list = await src.processes();
    const names = list.map((p) => p.name);
    // Ids only once a digit is typed: a bare TAB lists names, not numbers as well.
    const ids = /^\d/.test(cur) ? list.map((p) => String(p.id)) : [];
    return [...names, ...ids];
  }
  return [];
}

function findFlag(flags: FlagSpec[], word: string): FlagSpec | undefined {
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0];
    return flags.find((f) => f.long === name);
  }
  // -f, or a bundle like -nf: its last letter may take a value.
  const last = word.slice(-1);
  return flags.find((f) => f.short === last);
}

function valueCandidates(kind: ValueKind, src: CompletionSources): string[] {
  if (typeof kind === 'object') return [...kind.words];
  return kind === 'user' ? src.users() : [];
}

/** The real sources: pmond (bounded by QUERY_TIMEOUT_MS, [] on any failure) and /etc/passwd. */
export const liveSources: CompletionSources = {
  async processes() {
    let client: PmondClient | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), QUERY_TIMEOUT_MS);
      });
      const { connect } = require('./session') as typeof import('./session');
      client = await Promise.race([connect({ timeoutMs: QUERY_TIMEOUT_MS }), deadline]);
      const c = client;
      const list = await Promise.race([c.listAll(), deadline]);
      // Only names the daemon could have accepted reach the shell (bash's compgen -W expands its words).
      return list.filter((p) => NAME_RE.test(p.name)).map((p) => ({ id: p.id, name: p.name }));
    } catch {
      return [];
    } finally {
      if (timer) clearTimeout(timer);
      client?.close();
    }
  },
  users() {
    try {
      return fs
        .readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .map((l) => l.split(':')[0] ?? '')
        .filter((u) => NAME_RE.test(u));
    } catch {
      return [];
    }
  },
};

/** The part of omelette's Omelette we use (it ships no types). */
interface Omelette {
  onAsync(event: 'complete', handler: (fragment: string, data: { line: string; reply: (w: Promise<string[]>) => void }) => void): void;
  init(): void;
}

/** Whether argv is a shell asking for completions. */
export function isCompletionRequest(argv: readonly string[]): boolean {
  return argv.includes('--compgen');
}

/** Answer the shell (argv from the scripts below) and exit. Never prints to stderr. */
export function runCompletion(): void {
  const omelette = require('omelette') as (template: string) => Omelette;
  const comp = omelette('pmon3');
  comp.onAsync('complete', (_fragment, { line, reply }) => {
    // The scripts pass one word per argv entry, the current one last (even when
    // empty); omelette joins them with single spaces.
    const words = line.split(' ');
    reply(candidates(words, liveSources).catch(() => []));
  });
  comp.init();
}

/** The completion script for shell. */
export function completionScript(shell: Shell): string {
  return SCRIPTS[shell];
}

const SCRIPTS: Record<Shell, string> = {
  bash: `# pmon3 completion for bash.
# Source it from ~/.bashrc, or install it as
# /usr/share/bash-completion/completions/pmon3 (loaded on demand by bash-completion).
# Generated by \`pmon3 completion bash\`.
_pmon3_completion() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev=""
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local IFS=$'\\n'
  COMPREPLY=( $(compgen -W "$(pmon3 --compbash --compgen "$COMP_CWORD" "$prev" "\${COMP_WORDS[@]:0:COMP_CWORD}" "$cur" 2>/dev/null)" -- "$cur") )
}
complete -o default -F _pmon3_completion pmon3
`,
  zsh: `#compdef pmon3
# pmon3 completion for zsh.
# Put it in a directory of $fpath as _pmon3 (e.g. /usr/share/zsh/site-functions),
# or source it from ~/.zshrc after compinit.
# Generated by \`pmon3 completion zsh\`.
_pmon3() {
  local -a candidates
  candidates=(\${(f)"$(pmon3 --compzsh --compgen "$CURRENT" "\${words[CURRENT-1]}" "\${(@)words[1,CURRENT]}" 2>/dev/null)"})
  if (( \${#candidates} )); then
    compadd -a candidates
  else
    _files
  fi
}
if [[ "\${funcstack[1]-}" == _pmon3 ]]; then
  _pmon3 "$@"
else
  compdef _pmon3 pmon3
fi
`,
  fish: `# pmon3 completion for fish.
# Install it as /usr/share/fish/vendor_completions.d/pmon3.fish (or
# ~/.config/fish/completions/pmon3.fish), or run: pmon3 completion fish | source
# Generated by \`pmon3 completion fish\`.
function __pmon3_complete
    set -l tokens (commandline -poc)
    set -l cur (commandline -ct)
    set -l out (pmon3 --compfish --compgen (count $tokens) "$tokens[-1]" $tokens "$cur" 2>/dev/null | string match -r -- '.+')
    if test (count $out) -gt 0
        printf '%s\\n' $out
    else
        __fish_complete_path "$cur"
    end
end
complete -c pmon3 -f -a '(__pmon3_complete)'
`,
};
