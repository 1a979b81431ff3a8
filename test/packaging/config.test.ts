/**
 * rpm/config.yaml, the default config the package installs: pmond accepts it (an unknown key
 * would stop pmond at start), every value it shows is the real default, and every key pmond
 * knows is documented in it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { defaultsFor, parseConfig, type ConfigEnv } from '../../internal/config/config';
import { ROOT } from '../helpers/daemon';

const FILE = path.join(ROOT, 'rpm', 'config.yaml');
const root: ConfigEnv = { uid: 0, home: '/root', env: {} };
const text = fs.readFileSync(FILE, 'utf8');
/** The file with every commented-out key ("#key:" or "#  key:") enabled. */
const uncommented = text.replace(/^#(?=[a-z_]+:|\s+[a-z_]+:)/gm, '');

function withoutPath<T extends { config_path: string }>(c: T): Omit<T, 'config_path'> {
  const { config_path: _drop, ...rest } = c;
  return rest;
}

test('the default config parses and equals the built-in root defaults', () => {
  const defaults = withoutPath(parseConfig('', FILE, root));
  assert.deepEqual(withoutPath(parseConfig(text, FILE, root)), defaults);
});

test('with every commented key enabled it still parses, to the same values', () => {
  assert.notEqual(uncommented, text);
  assert.deepEqual(withoutPath(parseConfig(uncommented, FILE, root)), withoutPath(parseConfig('', FILE, root)));
});

test('every key pmond accepts is documented in it', () => {
  for (const key of Object.keys(defaultsFor(root))) {
    assert.match(uncommented, new RegExp(`^${key}:`, 'm'), `${key} is missing from rpm/config.yaml`);
  }
});
