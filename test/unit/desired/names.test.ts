/**
 * src/model/names.ts: which profile names may become slots, and the byte order upstream sorts
 * profiles in.
 */
import fc from 'fast-check';
import test from 'ava';
import { MAX_PROFILE_NAME, compareBytes, invalidNameReason, isValidProfileName } from '../../../src/model/names.js';

test('valid names: lower-case letters, digits, _ and -, starting with a letter or digit', (t) => {
  for (const name of ['a', '0', 'coder', 'my-bot_2', 'x'.repeat(MAX_PROFILE_NAME)]) t.true(isValidProfileName(name), name);
});

const rejects = test.macro({
  exec(t, name: string, reason: string) {
    t.is(invalidNameReason(name), reason);
    t.false(isValidProfileName(name));
  },
  title: (provided = '') => `invalid name: ${provided}`,
});

test('empty', rejects, '', 'empty name');
test('too long', rejects, 'x'.repeat(MAX_PROFILE_NAME + 1), `name longer than ${MAX_PROFILE_NAME} characters`);
test('upper case', rejects, 'Coder', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('leading dash', rejects, '-x', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('path traversal', rejects, '..', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('a slash', rejects, 'a/b', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('a newline', rejects, 'a\nb', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('non-ASCII', rejects, 'café', 'name does not match ^[a-z0-9][a-z0-9_-]*$');

test('a valid name never contains a path separator, a dot or a control character', (t) => {
  fc.assert(fc.property(fc.string(), (s) => !isValidProfileName(s) || /^[a-z0-9_-]+$/.test(s)));
  t.pass();
});

test('compareBytes orders by UTF-8 bytes, not UTF-16 code units', (t) => {
  // U+FF5E (3 UTF-8 bytes, EF BD 9E) sorts before U+1F600 (F0 9F 98 80) by bytes, after it by code units.
  t.true(compareBytes('\uff5e', '\u{1f600}') < 0);
  t.true('\uff5e' > '\u{1f600}');
  t.true(compareBytes('a', 'ab') < 0);
  t.is(compareBytes('same', 'same'), 0);
});

test('compareBytes is a total order consistent with Buffer.compare', (t) => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'grapheme' }),
      (a, b) => Math.sign(compareBytes(a, b)) === Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
    ),
  );
  t.pass();
});
