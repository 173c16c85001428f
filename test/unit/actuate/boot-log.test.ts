/**
 * src/actuate/boot-log.ts: the boot log's line format (upstream's, with names escaped so none can
 * forge a line or a field) and appending on a temp HERMES_HOME: created with its modes, rotated at
 * its bound, never written through a symlink or into a FIFO; a log that cannot be written is a
 * warning, never a thrown error.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { appendBootLog, formatBootLogLines, formatBootTimestamp } from '../../../src/actuate/boot-log.js';
import type { ProfileDecision } from '../../../src/model.js';
import { closeDir, openDirAt } from '../../../src/safe-fs/index.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { makeReadOnly, modeOf, put, tempRoot } from '../support.js';

const LOG = path.join('logs', 'container-boot.log');

const decision = (profile: string, extra: Partial<ProfileDecision> = {}): ProfileDecision => ({
  profile,
  service: `gateway-${profile}`,
  priorState: 'running',
  autostart: true,
  action: 'started',
  priorExit: 'clean',
  ...extra,
});

test('the timestamp is local time with a numeric offset, and names the same instant', (t) => {
  const date = new Date(Date.UTC(2026, 8, 21, 10, 0, 7, 900));
  const stamp = formatBootTimestamp(date);
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)([+-]\d\d)(\d\d)$/.exec(stamp);
  if (m === null) return t.fail(stamp);
  t.is(Date.parse(`${m[1]}${m[2]}:${m[3]}`), Date.UTC(2026, 8, 21, 10, 0, 7), stamp);
});

test('one upstream-format line per decision, in order', (t) => {
  const text = formatBootLogLines('2026-09-21T10:00:00+0000', [
    decision('default'),
    decision('work', { priorState: null, action: 'registered', autostart: false, priorExit: 'unknown' }),
  ]);
  t.is(
    text,
    '2026-09-21T10:00:00+0000 profile=default prior_state=running action=started prior_exit=clean\n' +
      '2026-09-21T10:00:00+0000 profile=work prior_state=None action=registered prior_exit=unknown\n',
  );
});

test('a fold adds folded_into_root, and a hostile state or name cannot forge a line or a field', (t) => {
  const text = formatBootLogLines('T', [
    decision('a', { foldedIntoRoot: true }),
    decision('b\nT profile=x', { priorState: 'running action=skipped', foldedIntoRoot: false }),
  ]);
  const lines = text.split('\n');
  t.is(lines.length, 3, text);
  t.is(lines[0], 'T profile=a prior_state=running action=started prior_exit=clean folded_into_root=True');
  t.is(lines[1], 'T profile="b\\nT profile=x" prior_state="running action=skipped" action=started prior_exit=clean folded_into_root=False');
  t.is(formatBootLogLines('T', []), '');
});

test('a profile whose operations failed gets failed="kind: error" after upstream fields, escaped', (t) => {
  const text = formatBootLogLines('T', [decision('a'), decision('b')], new Map([['b', ['create: EACCES\nT profile=x', 'seed: EIO']]]));
  t.is(
    text,
    'T profile=a prior_state=running action=started prior_exit=clean\n' +
      'T profile=b prior_state=running action=started prior_exit=clean failed="create: EACCES\\\\nT profile=x; seed: EIO"\n',
  );
});

test('the first boot makes logs/ (0755) and the log (0644); later boots append', (t) => {
  const { root, dir } = tempRoot(t);
  t.deepEqual(appendBootLog(dir, 'one\n', 1024, undefined), []);
  t.deepEqual(appendBootLog(dir, 'two\n', 1024, undefined), []);
  t.is(fs.readFileSync(path.join(root, LOG), 'utf8'), 'one\ntwo\n');
  t.is(modeOf(path.join(root, 'logs')), 0o755);
  t.is(modeOf(path.join(root, LOG)), 0o644);
});

test('a log that reached its bound is rotated to .1 first, replacing an older .1', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, `${LOG}.1`, 'oldest\n');
  put(root, LOG, '0123456789\n');
  t.deepEqual(appendBootLog(dir, 'new\n', 11, undefined), []);
  t.is(fs.readFileSync(path.join(root, `${LOG}.1`), 'utf8'), '0123456789\n');
  t.is(fs.readFileSync(path.join(root, LOG), 'utf8'), 'new\n');
  t.deepEqual(appendBootLog(dir, 'more\n', 11, undefined), [], 'below the bound: no rotation');
  t.is(fs.readFileSync(path.join(root, LOG), 'utf8'), 'new\nmore\n');
});

test('when rotation fails nothing is appended, so the log stays within its bound', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, LOG, '0123456789\n');
  fs.mkdirSync(path.join(root, `${LOG}.1`));
  put(root, `${LOG}.1/keep`, '');
  const warnings = appendBootLog(dir, 'new\n', 11, undefined);
  t.is(warnings.length, 1);
  t.true(warnings[0]?.startsWith(`could not rotate ${root}/logs/container-boot.log:`), warnings[0]);
  t.is(fs.readFileSync(path.join(root, LOG), 'utf8'), '0123456789\n');
});

test('a symlinked logs/ or log is a warning and the link target is never written', (t) => {
  const linkedDir = tempRoot(t);
  put(linkedDir.root, 'elsewhere/keep', '');
  fs.symlinkSync(path.join(linkedDir.root, 'elsewhere'), path.join(linkedDir.root, 'logs'));
  const dirWarnings = appendBootLog(linkedDir.dir, 'x\n', 1024, undefined);
  t.is(dirWarnings.length, 1);
  t.true(dirWarnings[0]?.startsWith('could not write the boot log: '), dirWarnings[0]);
  t.true(
    dirWarnings[0]?.endsWith('; remove or repair what is at that path (it is never written through); the rest of boot is done'),
    'and says what to do',
  );
  t.deepEqual(fs.readdirSync(path.join(linkedDir.root, 'elsewhere')), ['keep']);

  const linkedLog = tempRoot(t);
  const victim = put(linkedLog.root, 'victim', 'precious');
  fs.mkdirSync(path.join(linkedLog.root, 'logs'));
  fs.symlinkSync(victim, path.join(linkedLog.root, LOG));
  t.is(appendBootLog(linkedLog.dir, 'x\n', 1024, undefined).length, 1);
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
});

test('a FIFO where the log goes is a warning, never a hang, with or without a reader', (t) => {
  const deaf = tempRoot(t);
  makeFifo(path.join(deaf.root, LOG));
  t.is(appendBootLog(deaf.dir, 'x\n', 1024, undefined).length, 1);
  const heard = tempRoot(t);
  const fifo = listenOnControl(t, path.join(heard.root, 'logs'));
  fs.renameSync(fifo.path, path.join(heard.root, LOG));
  const warnings = appendBootLog(heard.dir, 'x\n', 1024, undefined);
  t.is(warnings.length, 1);
  t.true(warnings[0]?.includes('is a FIFO'), warnings[0]);
  t.is(fifo.received(), '');
});

test('a log with a second hard link is not appended to', (t) => {
  const { root, dir } = tempRoot(t);
  const victim = put(root, 'victim', 'precious');
  fs.mkdirSync(path.join(root, 'logs'));
  fs.linkSync(victim, path.join(root, LOG));
  const warnings = appendBootLog(dir, 'x\n', 1024, undefined);
  t.true(warnings[0]?.includes('hard links'), warnings[0]);
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
});

needsRoot(test)('a new logs/ and log are owned by the hermes user; an existing log keeps its owner', (t) => {
  const { root, dir } = tempRoot(t);
  t.deepEqual(appendBootLog(dir, 'x\n', 1024, { uid: 65534, gid: 65534 }), []);
  t.is(fs.statSync(path.join(root, 'logs')).uid, 65534);
  t.is(fs.statSync(path.join(root, LOG)).uid, 65534);
  fs.chownSync(path.join(root, LOG), 0, 0);
  t.deepEqual(appendBootLog(dir, 'y\n', 1024, { uid: 65534, gid: 65534 }), []);
  t.is(fs.statSync(path.join(root, LOG)).uid, 0);
});

needsRoot(test)('a read-only HERMES_HOME is a warning, not a failure', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'home'));
  makeReadOnly(t, path.join(root, 'home'));
  const home = openDirAt(dir, 'home');
  t.teardown(() => closeDir(home));
  const warnings = appendBootLog(home, 'x\n', 1024, undefined);
  t.is(warnings.length, 1);
  t.true(warnings[0]?.includes('EROFS'), warnings[0]);
});
