import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseEnvVars, splitArgs } from '../../internal/words';

test('splits on blanks, keeps quoted text together', () => {
  assert.deepEqual(splitArgs('-a 1  -b "two words" \'three  spaced\''), ['-a', '1', '-b', 'two words', 'three  spaced']);
  assert.deepEqual(splitArgs(''), []);
  assert.deepEqual(splitArgs('   '), []);
  assert.deepEqual(splitArgs('""'), ['']);
  assert.deepEqual(splitArgs("a''b"), ['ab']);
});

test('nothing is expanded or executed', () => {
  assert.deepEqual(splitArgs('$(touch /tmp/x) `id` $HOME *.c ; | &&'), ['$(touch', '/tmp/x)', '`id`', '$HOME', '*.c', ';', '|', '&&']);
  assert.deepEqual(splitArgs('"$(touch /tmp/x)"'), ['$(touch /tmp/x)']);
  assert.deepEqual(splitArgs("'$HOME'"), ['$HOME']);
});

test('escapes', () => {
  assert.deepEqual(splitArgs('a\\ b'), ['a b']);
  assert.deepEqual(splitArgs('"say \\"hi\\""'), ['say "hi"']);
  assert.deepEqual(splitArgs('"back\\\\slash"'), ['back\\slash']);
  assert.deepEqual(splitArgs('"keep \\n"'), ['keep \\n']);
  assert.deepEqual(splitArgs("'it'\\''s'"), ["it's"]);
});

test('unterminated quotes are INVALID_ARGUMENT', () => {
  for (const bad of ['"open', "'open", 'trailing\\']) {
    assert.throws(() => splitArgs(bad), (e: any) => e.code === 'INVALID_ARGUMENT');
  }
});

test('env vars', () => {
  assert.deepEqual(parseEnvVars('A=1 B="two words" C= D=x=y'), { A: '1', B: 'two words', C: '', D: 'x=y' });
  assert.throws(() => parseEnvVars('NOEQUALS'), (e: any) => e.code === 'INVALID_ARGUMENT' && /NAME=value/.test(e.message));
  assert.throws(() => parseEnvVars('1A=x'), (e: any) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => parseEnvVars('A-B=x'), (e: any) => e.code === 'INVALID_ARGUMENT');
});
