import test from 'ava';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ConfigReadError, PATTERN_WORDS, jsonSyntaxError, loadSettings, repeatedKeys } from '../../../src/cli/config.js';
import { UsageError } from '../../../src/errors.js';
import { docPath } from '../../../src/cli/help.js';
import { repoRoot } from '../../helpers/s6.js';

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

test('a byte order mark does not shift the column', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, '\uFEFF{"uid": 1 "gid": 2}');
  await t.throwsAsync(loadSettings(file), {
    instanceOf: UsageError,
    message: `config ${file} is not valid JSON: Expected ',' or '}' after property value at line 1 column 11; fix the file (${docPath('cli.md')} lists every setting)`,
  });
});

test('a complaint without a position is kept as it is', (t) => {
  t.is(complaint('{"user":'), 'Unexpected end of JSON input');
  t.is(jsonSyntaxError('x', 'odd'), 'odd');
});

test('a complaint that quotes the text is one line and does not repeat "is not valid JSON"', (t) => {
  const text = complaint('{"user":\n nobody}');
  t.false(text.includes('is not valid JSON'), text);
  t.false(text.includes('\n'), text);
});

const notAnObject = test.macro(async (t, name: string, text: string, expected: RegExp) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const err = await t.throwsAsync(loadSettings(file), { instanceOf: UsageError });
  t.regex(err?.message ?? '', expected);
});

test(
  'a YAML config is named as such: the config is JSON',
  notAnObject,
  'config.yaml',
  'user: hermes\nuid: 10000\n',
  /^config \S+config\.yaml is not a JSON object: it starts with 'u', not '\{' \(it looks like YAML: the config is JSON, \{"key": value, …\}\); fix the file/,
);
test(
  'YAML content in a .json file is named as YAML too',
  notAnObject,
  'config.json',
  '# settings\nuser: hermes\n',
  /is not a JSON object: it starts with '#', not '\{' \(it looks like YAML/,
);
test(
  'other text says what it starts with',
  notAnObject,
  'config.json',
  '  hermes',
  /is not a JSON object: it starts with 'h', not '\{'; fix the file/,
);
test('a URL is not taken for YAML', notAnObject, 'config.json', 'http://example.com/x', /it starts with 'h', not '\{'; fix the file/);
test(
  'a control character is named by its code point',
  notAnObject,
  'config.json',
  '\u001b[2J',
  /it starts with U\+001B, not '\{'; fix the file/,
);

test('every pattern of the config schema is said in words, so no error shows a bare regular expression', (t) => {
  const schema = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'schemas', 'config.schema.json'), 'utf8')) as {
    properties: Record<string, { pattern?: string }>;
  };
  const patterned = Object.entries(schema.properties)
    .filter(([, p]) => p.pattern !== undefined)
    .map(([k]) => k)
    .sort();
  t.deepEqual(Object.keys(PATTERN_WORDS).sort(), patterned);
});

test('a key given twice is refused, naming it: JSON.parse would keep only the last', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, '{\n  "user": "nobody",\n  "uid": 65534,\n  "user" : "root"\n}\n');
  const err = await t.throwsAsync(loadSettings(file), { instanceOf: UsageError });
  t.regex(
    err?.message ?? '',
    /^config \S+ is invalid: "user" is given more than once \(JSON keeps only the last\); keep one; fix the file/,
  );
});

test('repeatedKeys looks at the top level only, and reads keys as JSON does', (t) => {
  t.deepEqual(repeatedKeys('{"a": 1, "b": {"a": 2, "c": [ {"a": 3} ]}, "d": "\\"a\\": "}'), []);
  t.deepEqual(repeatedKeys('{"a":1,"\\u0061":2}'), ['a'], 'an escaped key is the same key');
  t.deepEqual(repeatedKeys('{"x":"}","x":"{"}'), ['x'], 'braces inside strings do not count');
  t.deepEqual(repeatedKeys('{"a":1,"b":2,"a":3,"b":4}'), ['a', 'b']);
});

test('config keys win over the ids found in /etc, which win over 10000', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ uid: 4242 }));
  t.like(await loadSettings(file, { uid: 1234, gid: 2345 }), { uid: 4242, gid: 2345 });
  t.like(await loadSettings(undefined, { uid: 1234, gid: 2345 }), { uid: 1234, gid: 2345 });
  t.like(await loadSettings(undefined, {}), { uid: 10000, gid: 10000 }, 'no hermes entries: the default');
});

test('a config that cannot be read is a usage error (boot and sync exit 100) that keeps its errno, apart from invalid contents', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.json');
  const err = await t.throwsAsync(loadSettings(file), { instanceOf: ConfigReadError });
  t.true(err instanceof UsageError);
  t.like(err, { path: file, errno: 'ENOENT', reason: 'ENOENT: no such file or directory' });
  t.is(
    err?.message,
    `cannot read config ${file}: ENOENT: no such file or directory; check the path given by --config or RECONCILE_GATEWAYS_CONFIG`,
  );
  fs.writeFileSync(file, '{"usr": "x"}');
  const invalid = await t.throwsAsync(loadSettings(file), { instanceOf: UsageError });
  t.false(invalid instanceof ConfigReadError, 'contents that fail validation are no read error');
});

test('a FIFO, device or directory at the config path is refused at once, never waited on; a symlink to a config is followed', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'fifo.json');
  execFileSync('mkfifo', [fifo]);
  // A read would wait for a writer forever (and take the watcher's loop with it): none comes.
  const refused = await t.throwsAsync(loadSettings(fifo), { instanceOf: UsageError });
  t.false(refused instanceof ConfigReadError, 'not retried: it stays a FIFO');
  t.is(refused?.message, `config ${fifo} is a FIFO: not a config file; point --config or RECONCILE_GATEWAYS_CONFIG at the JSON config`);
  await t.throwsAsync(loadSettings(dir), { instanceOf: UsageError, message: /is a directory: not a config file/ });
  // A ConfigMap mounts its files as symlinks into ..data/: those are the operator's own.
  const real = path.join(dir, 'real.json');
  fs.writeFileSync(real, JSON.stringify({ uid: 4242 }));
  const link = path.join(dir, 'config.json');
  fs.symlinkSync(real, link);
  t.like(await loadSettings(link), { uid: 4242 });
  // A loop of links is said as one, not as "a symlink" (links are followed here).
  fs.symlinkSync(path.join(dir, 'loop2'), path.join(dir, 'loop1'));
  fs.symlinkSync(path.join(dir, 'loop1'), path.join(dir, 'loop2'));
  await t.throwsAsync(loadSettings(path.join(dir, 'loop1')), { instanceOf: ConfigReadError, message: /: ELOOP: too many symbolic links/ });
});
