/** What every CLI command needs: the configuration and a connected client. */
import { Client } from '../client/client';
import { loadConfig } from '../config/config';

/** Connect to the pmond named by the configuration, run fn, close. */
export async function withClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const cfg = loadConfig();
  const client = await Client.connect(cfg.socket_path);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
