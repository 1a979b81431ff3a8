/** version, info, completion and daemon. */
import type { Health } from '../../protocol/methods';
import { VERSION } from '../../version';
import { completionScript, type Shell } from '../completion';
import { formatUptime } from '../render';
import { connect, withClient } from '../session';
import { arg, type Handler } from './types';

export const version: Handler = async () => {
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
  return { text: lines.join('\n'), value: { pmon3: VERSION, pmond, health } };
};

/** info: pmond's version, uptime, paths, processes per status, health (supervisor-rs's info). */
export const info: Handler = async () => {
  const i = await withClient(async (c) => {
    await c.require('tasks', 'info');
    return c.call('info', {});
  });
  const counts = Object.entries(i.counts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const st = i.health.store;
  const lines = [
    `pmond ${i.version} (pid ${i.pid}, uid ${i.uid}), up ${formatUptime(i.uptime_ms)} since ${i.started_at}`,
    `config: ${i.config_path}`,
    `socket: ${i.socket_path}`,
    `data: ${i.data_dir}`,
    `logs: ${i.logs_dir}`,
    `apps files: ${i.apps_paths.length ? i.apps_paths.join(', ') : '-'}`,
    `apps: ${i.apps}; processes: ${counts || 'none'}`,
    st.ok ? 'database: ok' : `database: NOT WRITABLE since ${st.since} (${st.error})`,
    `process trees stopped by: ${i.health.cgroups}`,
  ];
  return { text: lines.join('\n'), value: i };
};

export const completion: Handler = async (r) => {
  const shell = arg(r, 'shell') as Shell;
  const script = completionScript(shell);
  return { text: script, value: { shell, script } };
};

export const daemon: Handler = async (r, io) => {
  const control = require('../../daemon/control') as typeof import('../../daemon/control');
  const action = arg(r, 'action');
  if (action === 'start') return control.daemonStart({ json: io.json });
  if (action === 'stop') return control.daemonStop();
  return control.daemonStatus();
};
