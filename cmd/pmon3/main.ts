/** pmon3: the CLI. Thin: oclif dispatches to cmd/pmon3/commands. */
// A shell asking for completions (TAB) is answered without loading oclif: internal/cli/completion.
if (process.argv.includes('--compgen')) require('../../internal/cli/completion').runCompletion();
// So are the hot commands (ls, desc, exec, stop, start, restart) when their argv is unambiguous: internal/cli/fast.
else if (!require('../../internal/cli/fast').tryFastPath(process.argv.slice(2)))
  void import('@oclif/core').then(({ execute }) => execute({ dir: __dirname })).catch(() => process.exit(1));
