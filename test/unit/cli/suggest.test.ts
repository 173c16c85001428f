import test from 'ava';
import fc from 'fast-check';
import { didYouMean, editDistance, nearest } from '../../../src/cli/suggest.js';

const distance = test.macro({
  exec: (t, a: string, b: string, expected: number) => t.is(editDistance(a, b), expected),
  title: (_, a: string, b: string, expected: number) => `edit distance of ${JSON.stringify(a)} and ${JSON.stringify(b)} is ${expected}`,
});

test(distance, '', '', 0);
test(distance, '', 'abc', 3);
test(distance, 'kitten', 'sitting', 3);
test(distance, 'scandir', 'scnadir', 2);
test(distance, 'prune', 'prune', 0);

test('edit distance is a metric: symmetric, zero only for equal words, triangle inequality', (t) => {
  const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '-'), maxLength: 8 });
  fc.assert(
    fc.property(word, word, word, (a, b, c) => {
      const ab = editDistance(a, b);
      return ab === editDistance(b, a) && (ab === 0) === (a === b) && editDistance(a, c) <= ab + editDistance(b, c);
    }),
  );
  t.pass();
});

test('nearest finds the flag a typo meant, case-insensitively', (t) => {
  const flags = ['hermes-home', 'scandir', 'config', 'output', 'no-prune'];
  t.is(nearest('scandri', flags), 'scandir');
  t.is(nearest('Hermes-Hom', flags), 'hermes-home');
  t.is(nearest('no-prnue', flags), 'no-prune');
});

test('nearest offers nothing for a different word, only for a typo', (t) => {
  t.is(nearest('verbose', ['scandir', 'config', 'output']), undefined);
  t.is(nearest('x', []), undefined);
});

test('didYouMean formats the suggestion, or says nothing', (t) => {
  t.is(
    didYouMean('intervall', ['interval'], (c) => `--${c}`),
    ' (did you mean --interval?)',
  );
  t.is(didYouMean('sink', ['sync', 'boot']), ' (did you mean sync?)');
  t.is(didYouMean('completely-else', ['sync', 'boot']), '');
});
