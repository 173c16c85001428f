import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { ArgumentError } from '../../../src/cli/args.js';
import { usageText } from '../../../src/cli/help.js';
import { EXIT, metricsFileWarning, reportError, statusFileWarning } from '../../../src/cli/report.js';
import { FatalError, LockHeldError, UsageError } from '../../../src/errors.js';
import { FsError } from '../../../src/safe-fs/index.js';
import { type StatusDocument, writeStatusFile } from '../../../src/watch/status-file.js';
import { tempRoot } from '../support.js';
import { captureIo, recordingLogger } from './support.js';

function report(err: unknown, ctx: Parameters<typeof reportError>[1] = { json: false, logFormat: 'text' }) {
  const io = captureIo();
  const { logger, records } = recordingLogger();
  const code = reportError(err, ctx, io, logger);
  return { code, out: io.out(), err: io.err(), records };
}

const exitCode = test.macro({
  exec(t, err: unknown, code: number, name: string) {
    const r = report(err, { json: true, logFormat: 'text' });
    t.is(r.code, code);
    const doc = JSON.parse(r.out) as { formatVersion: string; error: { code: string; message: string; exitCode: number } };
    t.deepEqual(doc, {
      formatVersion: '2',
      error: { code: name, message: err instanceof Error ? err.message : String(err), exitCode: code },
    });
  },
  title: (_, err: unknown, code: number) => `${err instanceof Error ? err.name : typeof err} exits ${code} with its JSON error document`,
});

test(exitCode, new UsageError('config /etc/x.json is invalid: unknown key "usr"'), EXIT.usage, 'usage');
test(exitCode, new ArgumentError('sync: unknown option --x', 'sync'), EXIT.usage, 'usage');
test(exitCode, new LockHeldError('another reconcile-gateways run holds /run/service/.reconcile-gateways/lock'), EXIT.locked, 'locked');
test(exitCode, new FatalError('scandir /run/service exists but is not a directory'), EXIT.fatal, 'fatal');
test(exitCode, new Error('EACCES: permission denied'), EXIT.fatal, 'fatal');
test(exitCode, 'a thrown string', EXIT.fatal, 'fatal');

test('the exit codes are the documented ones', (t) => {
  t.deepEqual(EXIT, { ok: 0, pending: 1, partial: 2, locked: 3, usage: 100, fatal: 111 });
});

test('the error is logged once, and nothing goes to stdout without --output json', (t) => {
  const r = report(new FatalError('HERMES_HOME /nope is missing'));
  t.is(r.out, '');
  t.deepEqual(
    r.records.map((x) => [x.level, x.message]),
    [['error', 'HERMES_HOME /nope is missing']],
  );
  t.is(r.err, '');
});

test("a command-line mistake is followed by a pointer to the command's help, or the general usage", (t) => {
  t.is(report(new ArgumentError('sync: unknown option --x', 'sync')).err, "Run 'reconcile-gateways sync --help' for its options.\n");
  t.is(report(new ArgumentError('unknown command "snyc"')).err, `\n${usageText()}`);
  t.is(report(new UsageError('config invalid')).err, '', 'a config mistake is not a command-line one: no usage');
});

test('a lock held during boot or sync says how to wait for it; watch gets no such hint', (t) => {
  const held = new LockHeldError('another reconcile-gateways run holds /l');
  for (const command of ['boot', 'sync'] as const) {
    const r = report(held, { json: false, logFormat: 'text', command });
    t.is(r.records[0]?.message, 'another reconcile-gateways run holds /l; add --wait to wait for it, or retry when it has finished');
  }
  t.is(report(held, { json: false, logFormat: 'text', command: 'watch' }).records[0]?.message, held.message);
});

test('a multi-line message becomes one record plus indented, escaped continuation lines', (t) => {
  const err = new Error("Cannot find module 'x'\nRequire stack:\n- /a/b.js\r\n- \u001b[2Jevil");
  const r = report(err);
  t.is(r.records[0]?.message, "Cannot find module 'x'");
  t.is(r.err, '  Require stack:\n  - /a/b.js\n  - \\x1b[2Jevil\n');
  for (const line of r.err.split('\n').filter((l) => l !== '')) t.true(line.startsWith('  '), 'no continuation passes for a record');
});

test('a line break in a value one of our errors names is escaped with the rest: one line, no continuation to forge', (t) => {
  for (const err of [
    new ArgumentError('--role must be one of gateway, dashboard, none (got "x\ny")', 'sync'),
    new FatalError('HERMES_HOME /tmp/no\nexist is missing or unreadable'),
  ]) {
    const r = report(err);
    t.is(r.records.length, 1);
    t.is(r.records[0]?.message, err.message, 'the logger escapes the record as one line');
    t.false(r.err.includes('\n  '), r.err);
  }
});

test('with --log-format json the whole message stays one record', (t) => {
  const r = report(new Error('first\nsecond'), { json: false, logFormat: 'json' });
  t.is(r.records.length, 2, 'the error and, at debug, its stack');
  t.is(r.records[0]?.message, 'first\nsecond');
  t.is(r.err, '');
});

test('an unexpected error logs its stack at debug; our own errors do not', (t) => {
  const unexpected = report(new TypeError('x is undefined'));
  t.is(unexpected.records[1]?.level, 'debug');
  t.true(unexpected.records[1]?.message.startsWith('TypeError: x is undefined\n    at '));
  t.is(report(new FatalError('known')).records.length, 1);
  t.is(report(new UsageError('known')).records.length, 1);
});

test('a metrics file that cannot be written gets the fix for its errno, never one that does not apply', (t) => {
  const errno = (code: string, text: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`${code}: ${text}, open '/m/x.prom'`), { code });
  t.is(
    metricsFileWarning('/m/x.prom', errno('EROFS', 'read-only file system')),
    'cannot write --metrics-file /m/x.prom (EROFS: read-only file system); its file system is read-only: choose another path',
  );
  t.is(
    metricsFileWarning('/m/x.prom', errno('EACCES', 'permission denied')),
    'cannot write --metrics-file /m/x.prom (EACCES: permission denied); this user cannot write there: choose a directory it can write',
  );
  t.true(metricsFileWarning('/m/x.prom', errno('EIO', 'i/o error')).endsWith('(EIO: i/o error); choose another path'));
});

test('a status file that cannot be written gets the fix for its cause, and says that status shows the last document meanwhile', (t) => {
  const { root } = tempRoot(t);
  const fail = (file: string): unknown => {
    try {
      writeStatusFile(file, { formatVersion: '2' } as unknown as StatusDocument);
    } catch (err) {
      return err instanceof FsError ? err.cause : err;
    }
    return t.fail('the write succeeded');
  };
  const tail = '; each pass tries again, and until one succeeds status shows what the file last said';
  const gone = path.join(root, 'gone', 'status.json');
  t.is(
    statusFileWarning(gone, path.dirname(gone), fail(gone)),
    `cannot write status file ${gone} (ENOENT: no such file or directory); its directory ${path.dirname(gone)} is gone (removed while the watcher runs): restart the watcher, which makes it again and takes its lock there${tail}`,
  );
  const link = path.join(root, 'status.json');
  fs.symlinkSync('/etc/passwd', link);
  t.is(
    statusFileWarning(link, root, fail(link)),
    `cannot write status file ${link} (it is a symlink, not a regular file, and is never replaced); remove what is there, or choose another path${tail}`,
  );
  const denied = Object.assign(new Error(`EACCES: permission denied, open '${link}'`), { code: 'EACCES' });
  t.is(
    statusFileWarning(link, root, denied),
    `cannot write status file ${link} (EACCES: permission denied); make ${root} writable, or point --status-file elsewhere${tail}`,
  );
});
