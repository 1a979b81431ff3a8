import { connect } from '../../../internal/cli/session';
import type { Health } from '../../../internal/protocol/methods';
import { VERSION } from '../../../internal/version';
import { PmonCommand } from '../base';

export default class Version extends PmonCommand {
  static override description = "Show the version of pmon3 and, if it is running, pmond's version and health";
  static override examples = ['<%= config.bin %> version'];

  async run(): Promise<{ pmon3: string; pmond: string | null; health: Health | null }> {
    await this.parse(Version);
    let pmond: string | null = null;
    let health: Health | null = null;
    try {
      const c = await connect({ timeoutMs: 1000 });
      try {
        ({ version: pmond, health } = await c.call('ping', {}));
      } finally {
        c.close();
      }
    } catch {
      pmond = null; // the daemon being down is not an error here
    }
    const lines = [`pmon3 ${VERSION}`, pmond ? `pmond ${pmond}` : 'pmond not running'];
    if (health) {
      const st = health.store;
      lines.push(
        st.ok ? 'database: ok' : `database: NOT WRITABLE since ${st.since} (${st.error}); ${st.pending} processes' changes only in memory`,
        `process trees stopped by: ${health.cgroups}`,
      );
    }
    this.say(lines.join('\n'));
    return { pmon3: VERSION, pmond, health };
  }
}
