/** The Go pmon3's process config file in JSON, YAML and TOML (its own spellings) into our AppSpecs; its errors name file, line and key. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseApps } from '../../internal/apps/file';
import { parseGoProcessConfig } from '../../internal/apps/goconf';

const refused = (f: () => unknown, message: RegExp): void => {
  assert.throws(f, (e: any) => e.code === 'INVALID_ARGUMENT' && message.test(e.message));
};

// As the Go pmon3's own export writes them (test/e2e/config/export/process.expected.*), shortened.
const JSON_TEXT = JSON.stringify(
  {
    processes: [
      { file: '/tmp/pmon3/test_app', user: 'root', log: '/var/log/one.log', args: '', env_vars: 'TEST_APP_PORT=11020', name: 'one', dependencies: ['two'], groups: ['groupA', 'groupB'] },
      { file: 'bin/test_app', user: 'root', args: '-e example_args', env_vars: 'A=1 B=\'x y\'', name: 'two', no_auto_restart: true },
    ],
  },
  undefined,
  2,
);
const YAML_TEXT = `processes:
    - file: /tmp/pmon3/test_app
      user: root
      log: /var/log/one.log
      args: ""
      env_vars: TEST_APP_PORT=11020
      name: one
      dependencies:
        - two
      groups:
        - groupA
        - groupB
    - file: bin/test_app
      user: root
      args: -e example_args
      env_vars: A=1 B='x y'
      name: two
      no_auto_restart: true
`;
const TOML_TEXT = `[[Processes]]
  File = "/tmp/pmon3/test_app"
  User = "root"
  Log = "/var/log/one.log"
  Args = ""
  EnvVars = "TEST_APP_PORT=11020"
  Name = "one"
  dependencies = ["two"]
  groups = ["groupA", "groupB"]

[[Processes]]
  File = "bin/test_app"
  User = "root"
  Args = "-e example_args"
  EnvVars = "A=1 B='x y'"
  Name = "two"
  NoAutoRestart = true
`;

test('the same processes in JSON, YAML and TOML with the Go spellings', () => {
  const strip = (apps: any[]) => apps.map(({ source, ...a }) => a);
  const j = parseGoProcessConfig(JSON_TEXT, '/etc/pmon3/config/process.config.json', 'json');
  assert.deepEqual(strip(parseGoProcessConfig(YAML_TEXT, '/etc/pmon3/config/process.config.yaml', 'yaml')), strip(j));
  assert.deepEqual(strip(parseGoProcessConfig(TOML_TEXT, '/etc/pmon3/config/process.config.toml', 'toml')), strip(j));
  assert.deepEqual(strip(j)[0], {
    name: 'one', exec: '/tmp/pmon3/test_app', args: [], cwd: '/etc/pmon3/config', env: { TEST_APP_PORT: '11020' }, user: 'root',
    groups: ['groupA', 'groupB'], instances: 1, dependencies: ['two'], autostart: true, restart: 'always', log: '/var/log/one.log',
  });
  assert.deepEqual(strip(j)[1], {
    name: 'two', exec: '/etc/pmon3/config/bin/test_app', args: ['-e', 'example_args'], cwd: '/etc/pmon3/config', env: { A: '1', B: 'x y' }, user: 'root',
    groups: [], instances: 1, dependencies: [], autostart: true, restart: 'never',
  });
  // Lines: where each process starts in its file.
  assert.deepEqual(parseGoProcessConfig(YAML_TEXT, '/x.yaml', 'yaml').map((a) => a.source.line), [2, 13]);
  assert.deepEqual(parseGoProcessConfig(TOML_TEXT, '/x.toml', 'toml').map((a) => a.source.line), [1, 11]);
  // parseApps (apply -f, pmond's apps) reads the Go format too.
  assert.deepEqual(strip(parseApps(YAML_TEXT, '/etc/pmon3/config/p.yaml', 'yaml')), strip(j));
});

test('errors name file, line and the Go key', () => {
  refused(() => parseGoProcessConfig('processes:\n  - file: /bin/true\n    name: x\n    bogus: 1\n', '/p.yaml', 'yaml'), /^\/p\.yaml:4: processes\[0\]\.bogus: unknown key$/);
  refused(() => parseGoProcessConfig('[[Processes]]\nFile = "/bin/true"\nName = "x"\nNoAutoRestart = "yes"\n', '/p.toml', 'toml'), /^\/p\.toml:4: Processes\[0\]\.NoAutoRestart: must be true or false$/);
  refused(() => parseGoProcessConfig('processes:\n  - file: /bin/true\n    name: x\n    env_vars: "1BAD=2"\n', '/p.yaml', 'yaml'), /^\/p\.yaml:4: processes\[0\]\.env_vars: /);
  refused(() => parseGoProcessConfig('processes:\n  - file: /bin/true\n    name: "../x"\n', '/p.yaml', 'yaml'), /^\/p\.yaml:3: processes\[0\]\.name: /);
  refused(() => parseGoProcessConfig('processes:\n  - name: x\n', '/p.yaml', 'yaml'), /x: give exec/);
  refused(() => parseGoProcessConfig('processes: 3\n', '/p.yaml', 'yaml'), /processes: must be a list of processes/);
  refused(() => parseGoProcessConfig('processes: []\nextra: 1\n', '/p.yaml', 'yaml'), /^\/p\.yaml:2: extra: unknown key/);
  refused(() => parseGoProcessConfig('{"apps": []}', '/p.json', 'json'), /not a Go pmon3 process config/);
});
