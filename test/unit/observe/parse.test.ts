/**
 * src/observe/parse.ts: state-file bytes to parsed values. Every input yields a value; a reason
 * for bad bytes never quotes the bytes (a state file may be a link to someone's secret).
 */
import fc from 'fast-check';
import test from 'ava';
import type { FileRead } from '../../../src/model.js';
import { parseJsonObject, parseLifecycle, parseStateFile } from '../../../src/observe/parse.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const fileOf = (content: Uint8Array): FileRead => ({ kind: 'file', bytes: content }) as unknown as FileRead;

const rejects = test.macro({
  exec(t, input: Uint8Array, reason: string) {
    t.deepEqual(parseJsonObject(input), { ok: false, reason });
  },
  title: (provided = '') => `parseJsonObject refuses ${provided}`,
});

test('an empty file', rejects, bytes(''), 'empty file');
test('whitespace only', rejects, bytes(' \n\t'), 'empty file');
test('invalid UTF-8', rejects, new Uint8Array([0x7b, 0xff, 0x7d]), 'not valid UTF-8');
test('an array', rejects, bytes('[1,2]'), 'not a JSON object (array)');
test('null', rejects, bytes('null'), 'not a JSON object (null)');
test('a string', rejects, bytes('"running"'), 'not a JSON object (string)');
test('a torn write', rejects, bytes('{"desired_state": "run'), 'invalid JSON at line 1 column 23');
test('two writes run together', rejects, bytes('{"a":1}\n{"a":2}'), 'invalid JSON at line 2 column 1');

test('parseJsonObject strips a UTF-8 BOM', (t) => {
  t.deepEqual(parseJsonObject(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"a":1}')])), { ok: true, value: { a: 1 } });
});

test('a JSON error reason gives the position, never the bytes', (t) => {
  const result = parseJsonObject(bytes('{"token": "hunter2-secret" oops}'));
  t.false(result.ok);
  t.false(JSON.stringify(result).includes('hunter2'), JSON.stringify(result));
});

test('no input makes parseJsonObject throw or quote a secret it contains', (t) => {
  fc.assert(
    fc.property(fc.string(), (noise) => {
      const result = parseJsonObject(bytes(`{"k":"SECRETXYZ"${noise}`));
      return result.ok || !result.reason.includes('SECRETXYZ');
    }),
  );
  t.pass();
});

test('parseStateFile keeps desired_state and gateway_state as found', (t) => {
  const read = fileOf(bytes('{"desired_state":"running","gateway_state":"starting","pid":1}'));
  t.deepEqual(parseStateFile(read), { kind: 'parsed', desiredState: 'running', gatewayState: 'starting' });
  t.deepEqual(parseStateFile(fileOf(bytes('{}'))), { kind: 'parsed', desiredState: undefined, gatewayState: undefined });
});

test('parseStateFile maps missing, refused and bad bytes to values', (t) => {
  t.deepEqual(parseStateFile({ kind: 'missing' } as FileRead), { kind: 'missing' });
  t.deepEqual(parseStateFile({ kind: 'refused', reason: 'a FIFO' } as FileRead), { kind: 'unreadable', reason: 'a FIFO' });
  t.deepEqual(parseStateFile(fileOf(bytes('[]'))), { kind: 'unreadable', reason: 'not a JSON object (array)' });
});

test('parseLifecycle reads the phase', (t) => {
  t.deepEqual(parseLifecycle(fileOf(bytes('{"phase":"draining"}'))), { kind: 'parsed', phase: 'draining' });
  t.deepEqual(parseLifecycle({ kind: 'missing' } as FileRead), { kind: 'missing' });
  t.deepEqual(parseLifecycle(fileOf(bytes(''))), { kind: 'unreadable', reason: 'empty file' });
});
