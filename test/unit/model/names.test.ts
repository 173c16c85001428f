/**
 * src/model/names.ts: which profile names may become slots (checked before any side effect, so no
 * name reaches the file system outside its own slot), the rule as messages state it, and the byte
 * order upstream sorts profiles in.
 */
import fc from 'fast-check';
import test from 'ava';
import { MAX_PROFILE_NAME, NAME_RULE, compareBytes, invalidNameReason, isValidProfileName } from '../../../src/model/names.js';

test('valid names: lower-case letters, digits, _ and -, starting with a letter or digit', (t) => {
  for (const name of ['a', '0', 'coder', 'my-bot_2', '42', 'a-', 'a_', 'a--b', 'x'.repeat(MAX_PROFILE_NAME)]) {
    t.true(isValidProfileName(name), name);
    t.is(invalidNameReason(name), undefined, name);
  }
});

test("the longest valid name makes a service name within s6-overlay's 251-byte limit", (t) => {
  t.is(MAX_PROFILE_NAME, 243);
  t.is(Buffer.byteLength(`gateway-${'x'.repeat(MAX_PROFILE_NAME)}`), 251);
});

test('the rule in words names the same limits the check enforces', (t) => {
  t.is(NAME_RULE, "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 243 characters");
});

test('an over-long name is reported as too long whatever its characters', (t) => {
  t.is(invalidNameReason('X/'.repeat(MAX_PROFILE_NAME)), `name longer than ${MAX_PROFILE_NAME} characters`);
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
test('leading underscore', rejects, '_x', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('a single dot', rejects, '.', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('a dot name (hidden from s6-svscan)', rejects, '.x', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('a trailing newline', rejects, 'a\n', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('a NUL byte', rejects, 'a\0', 'name does not match ^[a-z0-9][a-z0-9_-]*$');
test('a space', rejects, 'a b', 'name does not match ^[a-z0-9][a-z0-9_-]*$');

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
