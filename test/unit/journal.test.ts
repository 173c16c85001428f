/**
 * src/journal.ts: the restart journal's location is the scandir's private state directory. It is
 * found only when that directory is ours (0700, owned by us, not a symlink); with `create` a
 * missing or foreign one is (re)made, and nothing in a foreign one survives or is followed.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { RESTARTS_FILE, restartJournal } from '../../src/journal.js';
import { closeDir, readFileAt, writeFileAt } from '../../src/safe-fs/index.js';
import { STATE_DIR, STATE_MARKER } from '../../src/state-dir/index.js';
import { needsRoot } from '../helpers/needs.js';
import { modeOf, put, tempRoot } from './support.js';

test('without a state directory there is no journal, and looking does not make one', (t) => {
  const { root, dir } = tempRoot(t);
  t.is(restartJournal(dir, false), undefined);
  t.false(fs.existsSync(path.join(root, STATE_DIR)));
});

test('with create the state directory is made 0700 and the journal is restarts.json in it', (t) => {
  const { root, dir } = tempRoot(t);
  const journal = restartJournal(dir, true);
  if (journal === undefined) return t.fail('no journal location');
  t.teardown(() => closeDir(journal.dir));
  t.is(journal.name, RESTARTS_FILE);
  t.is(journal.name, 'restarts.json');
  t.is(journal.dir.path, `${root}/${STATE_DIR}`);
  t.is(modeOf(path.join(root, STATE_DIR)), 0o700);
  writeFileAt(journal.dir, journal.name, '{"formatVersion":"1","services":[]}\n', { mode: 0o600, fsync: false });
  const again = restartJournal(dir, false);
  t.teardown(() => closeDir(again?.dir));
  t.is(again === undefined ? 'none' : readFileAt(again.dir, again.name, 1024).kind, 'file', 'found again without create');
});

test('a state directory with another mode is not trusted, and create replaces it with an empty one', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, `${STATE_DIR}/${RESTARTS_FILE}`, '{"formatVersion":"1","services":["gateway-victim"]}');
  fs.chmodSync(path.join(root, STATE_DIR), 0o755);
  t.is(restartJournal(dir, false), undefined);
  const journal = restartJournal(dir, true);
  t.teardown(() => closeDir(journal?.dir));
  t.is(modeOf(path.join(root, STATE_DIR)), 0o700);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR)), [STATE_MARKER], 'the planted journal is gone');
});

test('a symlink in place of the state directory is never followed: create removes the link only', (t) => {
  const { root, dir } = tempRoot(t);
  const elsewhere = path.join(root, 'elsewhere');
  put(root, `elsewhere/${RESTARTS_FILE}`, '{"formatVersion":"1","services":["gateway-victim"]}');
  fs.chmodSync(elsewhere, 0o700);
  fs.symlinkSync(elsewhere, path.join(root, STATE_DIR));
  t.is(restartJournal(dir, false), undefined);
  const journal = restartJournal(dir, true);
  t.teardown(() => closeDir(journal?.dir));
  t.true(fs.lstatSync(path.join(root, STATE_DIR)).isDirectory());
  t.deepEqual(fs.readdirSync(elsewhere), [RESTARTS_FILE], 'the link target is untouched');
  t.deepEqual(fs.readdirSync(root).sort(), [STATE_DIR, 'elsewhere'], 'the link is gone, not left aside');
});

needsRoot(test)('a 0700 state directory someone else owns is not ours', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, STATE_DIR), { mode: 0o700 });
  fs.chownSync(path.join(root, STATE_DIR), 65534, 65534);
  t.is(restartJournal(dir, false), undefined);
  const journal = restartJournal(dir, true);
  t.teardown(() => closeDir(journal?.dir));
  t.is(fs.statSync(path.join(root, STATE_DIR)).uid, 0);
});
