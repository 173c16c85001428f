/**
 * src/model/text.ts: strict UTF-8 for every file the tool reads as text. A malformed byte is
 * "not UTF-8", never a replacement character that would pass as content.
 */
import test from 'ava';
import { decodeUtf8, jsonErrorAt, namesInProse } from '../../../src/model/text.js';

test('valid UTF-8 decodes, one shared decoder gives the same text on every call', (t) => {
  const bytes = Buffer.from('gateway — écrit\n');
  t.is(decodeUtf8(bytes), 'gateway — écrit\n');
  t.is(decodeUtf8(bytes), 'gateway — écrit\n');
  t.is(decodeUtf8(new Uint8Array()), '');
});

test('a malformed or truncated sequence is undefined, and does not leak into the next call', (t) => {
  t.is(decodeUtf8(Uint8Array.from([0x61, 0xff, 0x62])), undefined);
  t.is(decodeUtf8(Uint8Array.from([0xe2, 0x80])), undefined, 'a sequence cut at the end');
  t.is(decodeUtf8(Buffer.from('ok')), 'ok');
});

const failureIn = (text: string): unknown => {
  try {
    JSON.parse(text);
  } catch (err) {
    return err;
  }
  throw new Error('parsed');
};

test("jsonErrorAt turns V8's offset into a line and a column; an input that ended early has none", (t) => {
  const text = '{\n  "a": 1,\n}';
  t.deepEqual(jsonErrorAt(text, failureIn(text)), { line: 3, column: 1 });
  t.deepEqual(jsonErrorAt('{"a" 1}', failureIn('{"a" 1}')), { line: 1, column: 6 });
  t.is(jsonErrorAt('{"a":', failureIn('{"a":')), undefined);
  t.is(jsonErrorAt('x', new Error('no offset here')), undefined);
});

test('namesInProse joins names as a sentence and counts the ones past `first`', (t) => {
  t.is(namesInProse([], 5), '');
  t.is(namesInProse(['a'], 5), 'a');
  t.is(namesInProse(['a', 'b'], 5), 'a and b');
  t.is(namesInProse(['a', 'b', 'c'], 5), 'a, b and c');
  t.is(namesInProse(['a', 'b', 'c', 'd'], 2), 'a, b and 2 more');
});
