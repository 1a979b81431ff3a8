/** ignore_watch globs (internal/watch/glob.ts): *, **, ?, dir/** with the directory itself, parts of a path. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globRegex, ignored } from '../../internal/watch/glob';

test('globs and what they ignore', () => {
  const ig = ['*.tmp', 'cache/**', 'node_modules', 'a?c'].map(globRegex);
  for (const p of ['x.tmp', 'lib/x.tmp', 'cache', 'cache/blob', 'cache/a/b', 'node_modules/x/y.js', 'abc']) assert.ok(ignored(p, ig), p);
  for (const p of ['x.tmpl', 'lib/m.js', 'cachet', 'src/cacheX/y', 'abbc']) assert.ok(!ignored(p, ig), p);
  assert.ok(globRegex('**/*.map').test('a/b/c.map'));
  assert.ok(!globRegex('*.js').test('a/b.js'));
  assert.ok(globRegex('a.b').test('a.b') && !globRegex('a.b').test('axb'), 'dots are literal');
});
