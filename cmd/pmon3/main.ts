/** pmon3: the CLI from dist/ (bin/pmon3.js; bin/pmon3 starts the snapshot instead when it can). Thin: internal/cli/main. */
import { runCompletion } from '../../internal/cli/completion';
import { runCli, traceStart } from '../../internal/cli/main';

if (process.argv.includes('--compgen')) runCompletion();
else {
  traceStart('dist');
  runCli(process.argv.slice(2));
}
