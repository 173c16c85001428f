import test from 'ava';
import fc from 'fast-check';
import { sameUtf8 } from '../../../src/diff/bytes.js';

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

test('a string equals its own UTF-8 encoding (any code points, lone surrogates included)', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => sameUtf8(encode(s), s)),
    { numRuns: 2000 },
  );
  t.pass();
});

test('any change of bytes or text is seen: one byte flipped, one appended, one dropped', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', minLength: 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (s, at, delta) => {
      const bytes = encode(s);
      const flipped = bytes.slice();
      const i = at % flipped.length;
      flipped[i] = (flipped[i]! + delta) & 0xff;
      return !sameUtf8(flipped, s) && !sameUtf8(new Uint8Array([...bytes, 0x0a]), s) && !sameUtf8(bytes.subarray(0, -1), s);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('the rendered finish script (an em dash) and plain ASCII compare as TextEncoder would', (t) => {
  const text = "# Exit 78 (EX_CONFIG) = fatal config error \u2014 don't restart.\n";
  t.true(sameUtf8(encode(text), text));
  t.false(sameUtf8(Buffer.from(text, 'latin1'), text));
  t.false(sameUtf8(encode(text.replace('\u2014', '-')), text));
  t.true(sameUtf8(new Uint8Array(0), ''));
  t.false(sameUtf8(encode('a'), ''));
});
