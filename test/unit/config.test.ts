import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { configPathFor, defaultsFor, loadConfig, parseConfig, resolveConfigEnv, type ConfigProbe } from '../../internal/config/config';
import { tempDir } from '../helpers/tmp';

const user = { uid: 1000, home: '/home/u', env: {} };
const root = { uid: 0, home: '/root', env: {} };

test('root and per-user defaults', () => {
  assert.equal(configPathFor(root), '/etc/pmond/config/config.yaml');
  assert.equal(configPathFor(user), '/home/u/.config/pmon3/config.yaml');
  assert.equal(configPathFor({ ...user, env: { XDG_CONFIG_HOME: '/x' } }), '/x/pmon3/config.yaml');
  assert.equal(configPathFor({ ...user, env: { PMON3_CONF: '/etc/p.yaml' } }), '/etc/p.yaml');
  const r = defaultsFor(root);
  assert.equal(r.data_dir, '/var/lib/pmon3');
  assert.equal(r.logs_dir, '/var/log/pmond');
  assert.equal(r.socket_path, '/var/run/pmon3/pmon3.sock');
  const u = defaultsFor(user);
  assert.equal(u.data_dir, '/home/u/.local/state/pmon3');
  assert.equal(u.socket_path, '/home/u/.local/state/pmon3/pmon3.sock');
  assert.equal(defaultsFor({ ...user, env: { XDG_RUNTIME_DIR: '/run/user/1000', XDG_STATE_HOME: '/s' } }).socket_path, '/run/user/1000/pmon3/pmon3.sock');
  assert.equal(defaultsFor({ ...user, env: { XDG_STATE_HOME: '/s' } }).logs_dir, '/s/pmon3/logs');
});

test('an empty file means defaults', () => {
  const c = parseConfig('', 'f.yaml', root);
  assert.equal(c.stop_timeout, 10);
  assert.equal(c.handle_interrupts, true);
  assert.equal(c.socket_mode, 0o666);
});

test('keys override defaults; octal modes parse', () => {
  const c = parseConfig('log_level: debug\nstop_timeout: 2.5\nsocket_mode: "0660"\non_process_restart_exec: /usr/local/bin/hook\n', 'f.yaml', root);
  assert.equal(c.log_level, 'debug');
  assert.equal(c.stop_timeout, 2.5);
  assert.equal(c.socket_mode, 0o660);
  assert.equal(c.on_process_restart_exec, '/usr/local/bin/hook');
});

test('PMON3_DEBUG=true forces debug', () => {
  assert.equal(parseConfig('log_level: error', 'f', { ...root, env: { PMON3_DEBUG: 'true' } }).log_level, 'debug');
});

test('unknown keys, wrong types, bad YAML: one line naming the key and file', () => {
  assert.throws(() => parseConfig('data_dri: /x', 'c.yaml', root), { message: 'config c.yaml: unknown key "data_dri"' });
  assert.throws(() => parseConfig('stop_timeout: soon', 'c.yaml', root), (e: any) => e.code === 'INVALID_ARGUMENT' && /key "stop_timeout"/.test(e.message));
  assert.throws(() => parseConfig('data_dir: relative/path', 'c.yaml', root), /key "data_dir": must be an absolute path/);
  assert.throws(() => parseConfig('log_level: [', 'c.yaml', root), /config c.yaml: not valid YAML/);
  assert.throws(() => parseConfig('- a\n- b', 'c.yaml', root), /must be a mapping/);
  assert.throws(() => parseConfig('handle_interrupts: "yes"', 'c.yaml', root), /key "handle_interrupts"/);
});

test('loadConfig: missing file = defaults; unreadable file = error naming it', () => {
  const dir = tempDir('pmcfg-');
  try {
    const missing = path.join(dir, 'nope.yaml');
    assert.equal(loadConfig({ ...user, env: { PMON3_CONF: missing } }).config_path, missing);
    assert.throws(() => loadConfig({ ...user, env: { PMON3_CONF: dir } }), (e: any) => e.message.includes(dir) && /cannot be read/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A probe over a table of directories and their owners (absent: does not exist; 'x': cannot be looked at). */
function probe(dirs: Record<string, number | 'x'>, passwd: string | null = '/home/u'): ConfigProbe {
  return {
    dirOwner: (p) => (p in dirs ? (dirs[p] === 'x' ? undefined : (dirs[p] as number)) : null),
    passwdHome: () => passwd,
  };
}

test('resolveConfigEnv: a HOME that is someone else\'s gives way to the passwd entry\'s', () => {
  // `setpriv`/`runuser -m`/`sudo` without -H: uid 1000 with root's HOME.
  const ce = resolveConfigEnv(1000, { HOME: '/root' }, probe({ '/root': 0, '/home/u': 1000 }));
  assert.equal(ce.home, '/home/u');
  assert.equal(configPathFor(ce), '/home/u/.config/pmon3/config.yaml');
  assert.equal(defaultsFor(ce).data_dir, '/home/u/.local/state/pmon3');
  // Her own HOME, wherever it is, is hers to use; one that cannot be looked at is not.
  assert.equal(resolveConfigEnv(1000, { HOME: '/srv/u' }, probe({ '/srv/u': 1000 })).home, '/srv/u');
  assert.equal(resolveConfigEnv(1000, { HOME: '/root' }, probe({ '/root': 'x' })).home, '/home/u');
  // No passwd entry at all: HOME as given.
  assert.equal(resolveConfigEnv(1000, { HOME: '/root' }, probe({ '/root': 0 }, null)).home, '/root');
  assert.equal(resolveConfigEnv(1000, {}, probe({}, null)).home, '/');
});

test('resolveConfigEnv: XDG directories of someone else are left out; missing ones are kept', () => {
  const dirs = { '/root/.config': 0, '/root/.local/state': 0, '/home/u': 1000, '/mine': 1000, '/run/user/0': 0 };
  const ce = resolveConfigEnv(1000, { XDG_CONFIG_HOME: '/root/.config', XDG_STATE_HOME: '/root/.local/state', XDG_RUNTIME_DIR: '/run/user/0' }, probe(dirs));
  assert.deepEqual(ce.env, {});
  assert.equal(defaultsFor(ce).socket_path, '/home/u/.local/state/pmon3/pmon3.sock');
  const own = resolveConfigEnv(1000, { XDG_CONFIG_HOME: '/mine', XDG_STATE_HOME: '/new/state', XDG_RUNTIME_DIR: '/mine' }, probe(dirs));
  assert.deepEqual(own.env, { XDG_CONFIG_HOME: '/mine', XDG_STATE_HOME: '/new/state', XDG_RUNTIME_DIR: '/mine' });
  assert.equal(defaultsFor(own).socket_path, '/mine/pmon3/pmon3.sock');
  assert.equal(defaultsFor(own).data_dir, '/new/state/pmon3');
  // Relative paths are ignored, as the XDG spec says.
  assert.deepEqual(resolveConfigEnv(1000, { XDG_STATE_HOME: 'state', XDG_CONFIG_HOME: '' }, probe(dirs)).env, {});
  // Other variables pass through.
  assert.equal(resolveConfigEnv(1000, { PMON3_CONF: '/c.yaml' }, probe(dirs)).env.PMON3_CONF, '/c.yaml');
});

test('resolveConfigEnv: without XDG_RUNTIME_DIR, /run/user/UID if it is hers, else the state dir', () => {
  const withLogind = resolveConfigEnv(1000, {}, probe({ '/home/u': 1000, '/run/user/1000': 1000 }));
  assert.equal(withLogind.env.XDG_RUNTIME_DIR, '/run/user/1000');
  assert.equal(defaultsFor(withLogind).socket_path, '/run/user/1000/pmon3/pmon3.sock');
  const without = resolveConfigEnv(1000, {}, probe({ '/home/u': 1000 }));
  assert.equal(without.env.XDG_RUNTIME_DIR, undefined);
  assert.equal(defaultsFor(without).socket_path, '/home/u/.local/state/pmon3/pmon3.sock');
});

test('resolveConfigEnv: root keeps the system paths, whatever the environment says', () => {
  const ce = resolveConfigEnv(0, { HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000', XDG_STATE_HOME: '/s' }, probe({ '/home/u': 1000 }));
  assert.equal(configPathFor(ce), '/etc/pmond/config/config.yaml');
  assert.equal(defaultsFor(ce).socket_path, '/var/run/pmon3/pmon3.sock');
  assert.equal(defaultsFor(ce).data_dir, '/var/lib/pmon3');
});
