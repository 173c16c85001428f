import test from 'ava';
import { jsonSyntaxError } from '../../../src/cli/config.js';

const complaint = (text: string): string => {
  try {
    JSON.parse(text);
  } catch (err) {
    return jsonSyntaxError(text, err);
  }
  throw new Error('parsed');
};

test('a JSON syntax error names its line and column, not an offset', (t) => {
  t.is(complaint('{\n  "user": "hermes",\n}'), 'Expected double-quoted property name at line 3 column 1');
  t.is(complaint('{"uid": 1 "gid": 2}'), "Expected ',' or '}' after property value at line 1 column 11");
});

test('a byte order mark does not shift the column', (t) => {
  const text = '\uFEFF{"uid": 1 "gid": 2}';
  let err: unknown;
  try {
    JSON.parse(text.slice(1));
  } catch (e) {
    err = e;
  }
  t.is(jsonSyntaxError(text, err), "Expected ',' or '}' after property value at line 1 column 11");
});

test('a complaint without a position is kept as it is', (t) => {
  t.is(complaint('{"user":'), 'Unexpected end of JSON input');
  t.is(jsonSyntaxError('x', 'odd'), 'odd');
});
