/**
 * pmon3's programmatic client: `import { Client, HttpClient } from 'pmon3'`. Both speak the one
 * protocol table (internal/protocol/methods.ts): `call(method, params)` is typed from it and its
 * results are validated with it.
 *
 *   const c = await Client.connect('/var/run/pmon3/pmon3.sock');      // the Unix socket
 *   const list = await c.listAll();
 *   await c.call('restart', { target: 'web', count: true });
 *   c.close();
 *
 *   const h = new HttpClient({ url: 'https://web1:8606', key: parsePrivate(fs.readFileSync('ops.key', 'utf8')) });
 *   await h.call('stop', { target: 'web', force: false });
 */
export { Client, type PmondClient, type CallOptions, type ConnectOptions } from './client';
export { HttpClient, type HttpClientOptions } from './http-client';
export { hostClient, readHosts, hostsPath } from './hosts';
export { parsePrivate, generateKey } from '../protocol/keys';
export { PmonError, ERROR_CODES, EXIT_CODES, type ErrorCode } from '../protocol/errors';
export { METHODS, type MethodName, type Params, type Result, type ProcessView } from '../protocol/methods';
