/** pmon3: the CLI. Thin: oclif dispatches to cmd/pmon3/commands. Started by bin/pmon3.js (bin/pmon3 when no snapshot serves). */
import type * as Fast from '../../internal/cli/fast';

// A shell asking for completions (TAB) is answered without loading oclif: internal/cli/completion.
if (process.argv.includes('--compgen')) require('../../internal/cli/completion').runCompletion();
else {
  // So are the hot commands (ls, desc, exec, stop, start, restart) when their argv is unambiguous: internal/cli/fast.
  const fast = require('../../internal/cli/fast') as typeof Fast;
  if (!fast.tryFastPath(process.argv.slice(2))) {
    fast.traceStart('oclif');
    void import('@oclif/core').then(({ execute }) => execute({ dir: __dirname })).catch(() => process.exit(1));
  }
}
