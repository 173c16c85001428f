/**
 * src/escape.ts: nothing a name contains can start a new line, forge a field or reorder what a
 * person reads. A table of characters, then a property over arbitrary strings.
 */
import fc from 'fast-check';
import test from 'ava';
import { escapeLine, quotedField, shellWord } from '../../src/escape.js';

const escapes = test.macro({
  exec(t, input: string, expected: string) {
    t.is(escapeLine(input), expected);
  },
  title: (provided = '') => `escapeLine: ${provided}`,
});

test('plain text is unchanged', escapes, 'gateway-alpha_1.2', 'gateway-alpha_1.2');
test('unicode letters are unchanged', escapes, 'café-δ-名前', 'café-δ-名前');
test('newline, carriage return and tab get C escapes', escapes, 'a\nb\rc\td', 'a\\nb\\rc\\td');
test('backslash is doubled so an escape cannot be forged', escapes, 'a\\nb', 'a\\\\nb');
test('other C0 controls and DEL become \\xNN', escapes, '\u0000\u001b[31m\u007f', '\\x00\\x1b[31m\\x7f');
test('C1 controls become \\xNN', escapes, '\u0085\u009b', '\\x85\\x9b');
test('line and paragraph separators become \\uNNNN', escapes, '\u2028\u2029', '\\u2028\\u2029');
test('bidirectional controls become \\uNNNN', escapes, '\u202eevil\u2066\u200f\u061c', '\\u202eevil\\u2066\\u200f\\u061c');
test(
  'invisible and zero-width characters and the no-break space become escapes',
  escapes,
  'zw\u200bsp\ufeff\u00a0\u00ad\u2060\u180e',
  'zw\\u200bsp\\ufeff\\xa0\\xad\\u2060\\u180e',
);
test(
  'every other invisible character and space but U+0020 too, astral ones as \\u{…}',
  escapes,
  'a\u{e0041}b\ufe0f\u2002\u3164\u034f c',
  'a\\u{e0041}b\\ufe0f\\u2002\\u3164\\u034f c',
);
test('a lone surrogate is escaped; an emoji, a pair, is kept', escapes, 'x\ud800y\u{1f600}', 'x\\ud800y\u{1f600}');

test('escaped text never contains a control, separator, bidi, invisible or zero-width character', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      return !/(?! )[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}\p{Cs}\p{Default_Ignorable_Code_Point}]/u.test(escapeLine(s));
    }),
  );
  t.pass();
});

test('escaping is injective: different inputs never print the same', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => a === b || escapeLine(a) !== escapeLine(b)),
  );
  t.pass();
});

test('shellWord: a path a shell reads back whole, bare when it can be', (t) => {
  t.is(shellWord('/run/service/gateway-a_b.1'), '/run/service/gateway-a_b.1');
  t.is(shellWord('/srv/my scan/gateway-a'), "'/srv/my scan/gateway-a'");
  t.is(shellWord("/srv/it's/gateway-a"), `'/srv/it'"'"'s/gateway-a'`);
  t.is(shellWord('/srv/$HOME;rm'), "'/srv/$HOME;rm'");
});

test('quotedField: a quote in a sentence cannot end its field; controls are shown, then JSON-quoted', (t) => {
  t.is(quotedField('say "hi"'), '"say \\"hi\\""');
  t.is(JSON.parse(quotedField('a"b c=d')), 'a"b c=d');
  t.is(quotedField('EACCES\nforged'), '"EACCES\\\\nforged"');
  t.false(/[\n\u2028\u202e]/u.test(quotedField('x\u2028y\u202ez\n')));
});
