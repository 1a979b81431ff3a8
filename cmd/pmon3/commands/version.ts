import { Client } from '../../../internal/client/client';
import { loadConfig } from '../../../internal/config/config';
import { VERSION } from '../../../internal/version';
import { PmonCommand } from '../base';

export default class Version extends PmonCommand {
  static override description = 'Show the version of pmon3 and, if it is running, of pmond';
  static override examples = ['<%= config.bin %> version'];

  async run(): Promise<{ pmon3: string; pmond: string | null }> {
    await this.parse(Version);
    let pmond: string | null = null;
    try {
      const c = await Client.connect(loadConfig().socket_path, 1000);
      try {
        pmond = (await c.call('ping', {})).version;
      } finally {
        c.close();
      }
    } catch {
      pmond = null; // the daemon being down is not an error here
    }
    this.say(`pmon3 ${VERSION}${pmond ? `\npmond ${pmond}` : '\npmond not running'}`);
    return { pmon3: VERSION, pmond };
  }
}
