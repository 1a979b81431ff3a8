/** export: the Go pmon3's process config byte for byte (json, yaml, toml), our apps file, systemd units and their quoting. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseApps } from '../../internal/apps/file';
import { appsFileText } from '../../internal/export/apps';
import { formatGo, goExecFlags } from '../../internal/export/go';
import { execWord, systemdUnits } from '../../internal/export/systemd';
import type { AppView } from '../../internal/protocol/methods';

const app = (id: number, name: string, over: Partial<AppView> = {}, spec: Partial<AppView['spec']> = {}): AppView => ({
  id,
  name,
  user: 'root',
  uid: 0,
  gid: 0,
  user_gid: 0,
  spec: { file: '/srv/app', args: [], env: {}, cwd: '/srv', restart: 'always', autostart: true, ...spec },
  groups: [],
  dependencies: [],
  instances: 1,
  source: 'exec',
  created_at: `2026-12-0${id}T00:00:00.000Z`,
  processes: [{ id, instance: 0, status: 'running', pid: 100 + id, log: `/var/log/pmon3/${name}.log`, auto_restart: true }],
  ...over,
});

// The shapes of the Go pmon3's own export test (one app with dependencies and groups, one without
// auto restart, one with args, one with a dependency), with our values.
const APPS = [
  app(1, 'srv-1', { dependencies: ['srv-2', 'srv-3'], groups: ['groupA', 'groupB'] }, { env: { PORT: '11020' } }),
  app(2, 'srv-2', {}, { env: { PORT: '11021' }, restart: 'never' }),
  app(3, 'srv-3', { groups: ['groupC'] }, { args: ['-e', 'example_args'], env: { PORT: '11022' } }),
  app(4, 'srv-4', { dependencies: ['srv-3'] }, { env: { PORT: '11023' } }),
];

test("json as the Go pmon3 writes it: encoding/json indented two, no_auto_restart always, empty fields left out", () => {
  const { processes } = goExecFlags(APPS, 'name');
  const text = formatGo('json', processes);
  assert.equal(text.endsWith('}'), true, 'no newline of its own (Println adds it)');
  const first = text.split('\n').slice(0, 18).join('\n');
  assert.equal(
    first,
    [
      '{',
      '  "processes": [',
      '    {',
      '      "file": "/srv/app",',
      '      "user": "root",',
      '      "log": "/var/log/pmon3/srv-1.log",',
      '      "args": "",',
      '      "env_vars": "PORT=11020",',
      '      "name": "srv-1",',
      '      "dependencies": [',
      '        "srv-2",',
      '        "srv-3"',
      '      ],',
      '      "groups": [',
      '        "groupA",',
      '        "groupB"',
      '      ],',
      '      "no_auto_restart": false',
    ].join('\n'),
  );
  assert.match(text, /"name": "srv-2",\n {6}"no_auto_restart": true/);
  assert.match(formatGo('json', goExecFlags([app(9, 'h', {}, { args: ['<a>&'] })]).processes), /"args": "\\u003ca\\u003e\\u0026"/);
});

test('yaml as yaml.v3 writes it (4-space indent, items two past the dash) and toml as BurntSushi/toml does', () => {
  const { processes } = goExecFlags(APPS, 'id');
  assert.equal(
    formatGo('yaml', processes),
    [
      'processes:',
      '    - file: /srv/app',
      '      user: root',
      '      log: /var/log/pmon3/srv-1.log',
      '      args: ""',
      '      env_vars: PORT=11020',
      '      name: srv-1',
      '      dependencies:',
      '        - srv-2',
      '        - srv-3',
      '      groups:',
      '        - groupA',
      '        - groupB',
      '    - file: /srv/app',
      '      user: root',
      '      log: /var/log/pmon3/srv-2.log',
      '      args: ""',
      '      env_vars: PORT=11021',
      '      name: srv-2',
      '      no_auto_restart: true',
      '    - file: /srv/app',
      '      user: root',
      '      log: /var/log/pmon3/srv-3.log',
      '      args: -e example_args',
      '      env_vars: PORT=11022',
      '      name: srv-3',
      '      groups:',
      '        - groupC',
      '    - file: /srv/app',
      '      user: root',
      '      log: /var/log/pmon3/srv-4.log',
      '      args: ""',
      '      env_vars: PORT=11023',
      '      name: srv-4',
      '      dependencies:',
      '        - srv-3',
      '',
    ].join('\n'),
  );
  const toml = formatGo('toml', processes);
  assert.equal(
    toml.split('\n\n')[0],
    [
      '[[Processes]]',
      '  File = "/srv/app"',
      '  User = "root"',
      '  Log = "/var/log/pmon3/srv-1.log"',
      '  Args = ""',
      '  EnvVars = "PORT=11020"',
      '  Name = "srv-1"',
      '  dependencies = ["srv-2", "srv-3"]',
      '  groups = ["groupA", "groupB"]',
    ].join('\n'),
  );
  assert.match(toml, /Name = "srv-2"\n {2}NoAutoRestart = true\n\n/);
  assert.equal(toml.endsWith('dependencies = ["srv-3"]\n'), true);
  assert.equal(formatGo('yaml', []), 'processes: []\n');
  assert.equal(formatGo('toml', []), 'Processes = []\n');
});

test('-o orders by a known field only; what the Go format cannot hold is noted', () => {
  assert.deepEqual(goExecFlags([app(2, 'b'), app(1, 'c'), app(3, 'a')], 'name').processes.map((p) => p.name), ['a', 'b', 'c']);
  assert.deepEqual(goExecFlags([app(2, 'b'), app(1, 'c'), app(3, 'a')]).processes.map((p) => p.name), ['c', 'b', 'a']);
  assert.throws(() => goExecFlags(APPS, 'name; DROP TABLE processes'), (e: any) => e.code === 'INVALID_ARGUMENT' && /cannot order by/.test(e.message));
  const { notes } = goExecFlags([app(1, 'w', { instances: 3 }, { args: ['a b'] })]);
  assert.deepEqual(notes, ['w: 3 instances, one entry (the Go pmon3 has no instances)', 'w: an argument holds a space or is empty; the Go pmon3 splits args on spaces']);
});

test('our apps file reads back as the same definitions', () => {
  const apps = [
    app(1, 'db', { groups: ['back'], gid: 5, user_gid: 0 }, { env: { A: 'x y' }, restart_delay_ms: 1500, startsecs_ms: 2000, startretries: 3, stop_signal: 'SIGINT', stop_timeout_ms: 5000, log: '/var/log/db.log' }),
    app(2, 'api', { instances: 2, dependencies: ['db'] }, { args: ['--port', '80 80'], restart: 'on-failure', autostart: false }),
  ];
  const specs = parseApps(appsFileText(apps, 'test'), '/x/apps.yaml', 'yaml');
  assert.deepEqual(
    specs.map(({ source, ...s }) => s),
    [
      { name: 'db', exec: '/srv/app', args: [], cwd: '/srv', env: { A: 'x y' }, user: 'root', group: '5', groups: ['back'], instances: 1, dependencies: [], autostart: true, restart: 'always', restart_delay_ms: 1500, startsecs_ms: 2000, startretries: 3, stop_signal: 'SIGINT', stop_timeout_ms: 5000, log: '/var/log/db.log' },
      { name: 'api', exec: '/srv/app', args: ['--port', '80 80'], cwd: '/srv', env: {}, user: 'root', groups: [], instances: 2, dependencies: ['db'], autostart: false, restart: 'on-failure' },
    ],
  );
});

test('systemd: quoting of ExecStart words and Environment, one unit per instance, a target per group', () => {
  assert.equal(execWord('/usr/bin/node'), '/usr/bin/node');
  assert.equal(execWord('a b'), '"a b"');
  assert.equal(execWord('$HOME'), '$$HOME');
  assert.equal(execWord('50%'), '50%%');
  assert.equal(execWord('say "hi"\\'), '"say \\"hi\\"\\\\"');
  assert.equal(execWord('--port'), '--port');
  assert.equal(execWord('-x', true), '"-x"', 'a first word starting with - is a prefix to systemd');
  assert.equal(execWord(''), '""');
  const units = systemdUnits(
    [
      app(1, 'db', { groups: ['back'] }, { env: { Q: 'a "b" 10%' }, args: ['--dir', '/var/lib/my db'] }),
      app(2, 'api', { instances: 2, dependencies: ['db'], groups: ['back'], uid: 1001, user: 'ann', gid: 1001, user_gid: 1001 }, { restart: 'never', restart_delay_ms: 1500 }),
    ],
    { uid: 0, defaultRestartMs: 100, defaultStopS: 10, defaultStopSignal: 'SIGTERM' },
  );
  assert.deepEqual(units.map((u) => u.name), ['db.service', 'ann-api-0.service', 'ann-api-1.service', 'pmon3-group-back.target', 'ann-pmon3-group-back.target']);
  const db = units[0]!.text;
  assert.match(db, /^ExecStart=\/srv\/app --dir "\/var\/lib\/my db"$/m);
  assert.match(db, /^Environment="Q=a \\"b\\" 10%%"$/m);
  assert.match(db, /^Environment="PMON3_INSTANCE=0"$/m);
  assert.match(db, /^Restart=always$/m);
  assert.match(db, /^RestartSec=100ms$/m);
  assert.match(db, /^TimeoutStopSec=10s$/m);
  assert.match(db, /^WantedBy=multi-user.target pmon3-group-back.target$/m);
  const api1 = units[2]!.text;
  assert.match(api1, /^User=ann$/m);
  assert.match(api1, /^Restart=no$/m);
  assert.match(api1, /^RestartSec=1500ms$/m);
  assert.match(api1, /^Environment="PMON3_INSTANCE=1"$/m);
  assert.doesNotMatch(api1, /^Requires=/m, "ann's api depends on ann's db, which is not among these apps");
  assert.match(units[3]!.text, /^Wants=db.service$/m);
  assert.match(units[4]!.text, /^Wants=ann-api-0.service ann-api-1.service$/m);
});

test('sockets: the apps file carries them (a default name as the bare address); systemd gets one .socket per socket, shared by every instance through Sockets=', () => {
  const web = app(3, 'web', { instances: 2 }, { sockets: [{ listen: '0.0.0.0:8080', name: 'web' }, { listen: '[::1]:8443', name: 'tls', backlog: 64 }] } as never);
  const specs = parseApps(appsFileText([web], 'test'), '/x/apps.yaml', 'yaml');
  assert.deepEqual(specs[0]!.sockets, [{ listen: '0.0.0.0:8080', name: 'web' }, { listen: '[::1]:8443', name: 'tls', backlog: 64 }]);
  const units = systemdUnits([web], { uid: 0, defaultRestartMs: 100, defaultStopS: 10, defaultStopSignal: 'SIGTERM' });
  assert.deepEqual(units.map((u) => u.name), ['web-socket0.socket', 'web-socket1.socket', 'web-0.service', 'web-1.service']);
  assert.match(units[0]!.text, /^ListenStream=0\.0\.0\.0:8080$/m);
  assert.match(units[0]!.text, /^FileDescriptorName=web$/m);
  assert.match(units[1]!.text, /^ListenStream=\[::1\]:8443$/m);
  assert.match(units[1]!.text, /^Backlog=64$/m);
  assert.match(units[1]!.text, /^Service=web-0.service$/m);
  for (const s of [units[2]!.text, units[3]!.text]) {
    assert.match(s, /^Sockets=web-socket0.socket web-socket1.socket$/m);
    assert.match(s, /^Requires=web-socket0.socket web-socket1.socket$/m);
  }
});

test('rlimits: the apps file carries them back; systemd gets Limit*= lines', () => {
  const a = app(4, 'lim', {}, { rlimits: { core: { soft: -1, hard: -1 }, nofile: { soft: 1000, hard: 2000 } } } as never);
  const specs = parseApps(appsFileText([a], 'test'), '/x/apps.yaml', 'yaml');
  assert.deepEqual(specs[0]!.rlimits, { core: { soft: -1, hard: -1 }, nofile: { soft: 1000, hard: 2000 } });
  const u = systemdUnits([a], { uid: 0, defaultRestartMs: 100, defaultStopS: 10, defaultStopSignal: 'SIGTERM' })[0]!.text;
  assert.match(u, /^LimitCORE=infinity$/m);
  assert.match(u, /^LimitNOFILE=1000:2000$/m);
});
