/** pmon3: the CLI. Thin: oclif dispatches to cmd/pmon3/commands. */
import { execute } from '@oclif/core';

execute({ dir: __dirname }).catch(() => process.exit(1));
