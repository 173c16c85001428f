/**
 * src/observe/restarts.ts: reading the pending-restart journal in the scandir's private state
 * directory. Only a journal in a private directory of ours is read, never through a symlink, never
 * blocking on a FIFO, never past 1 MiB; a damaged one reads as empty. The journal's owner is
 * reported with what it lists, so diff can refuse a journal root did not write. The round trip
 * with the writer is in test/unit/actuate/restarts.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { RESTARTS_FILE, readPendingRestarts } from '../../../src/observe/restarts.js';
import { STATE_DIR } from '../../../src/state-dir/index.js';
import { makeFifo } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { tempRoot } from '../support.js';

const JOURNAL_CAP = 1024 * 1024;

/** Makes the private state directory (0700) and returns the journal's path in it. */
function stateDir(root: string): string {
  fs.mkdirSync(path.join(root, STATE_DIR), { mode: 0o700 });
  fs.chmodSync(path.join(root, STATE_DIR), 0o700);
  return path.join(root, STATE_DIR, RESTARTS_FILE);
}

const journalText = (services: readonly unknown[]): string => JSON.stringify({ formatVersion: '1', services });

const euid = (): number => process.geteuid?.() ?? -1;

test('without a state directory or a journal in it, nothing is pending and no owner is reported', (t) => {
  const { root, dir } = tempRoot(t);
  t.deepEqual(readPendingRestarts(dir), { services: new Set() });
  stateDir(root);
  t.deepEqual(readPendingRestarts(dir), { services: new Set() });
});

test('the services a journal lists are pending, reported with the uid that owns the journal', (t) => {
  const { root, dir } = tempRoot(t);
  fs.writeFileSync(stateDir(root), journalText(['gateway-b', 'gateway-a']));
  t.deepEqual(readPendingRestarts(dir), { services: new Set(['gateway-b', 'gateway-a']), uid: euid() });
});

needsRoot(test)('a journal another user owns is still read, with that owner, for diff to judge', (t) => {
  const { root, dir } = tempRoot(t);
  const journal = stateDir(root);
  fs.writeFileSync(journal, journalText(['gateway-a']));
  fs.chownSync(journal, 65534, 65534);
  t.deepEqual(readPendingRestarts(dir), { services: new Set(['gateway-a']), uid: 65534 });
});

test('a damaged journal lists nothing but still names its owner', (t) => {
  const { root, dir } = tempRoot(t);
  const journal = stateDir(root);
  for (const content of ['', '{"services": [', '["gateway-a"]', '{"services": {"gateway-a": true}}']) {
    fs.writeFileSync(journal, content);
    t.deepEqual(readPendingRestarts(dir), { services: new Set(), uid: euid() }, content);
  }
  fs.writeFileSync(journal, journalText([7, null, 'gateway-a', ['gateway-b']]));
  t.deepEqual(readPendingRestarts(dir), { services: new Set(['gateway-a']), uid: euid() }, 'entries that are no strings are dropped');
});

test('a journal with a byte-order mark is read', (t) => {
  const { root, dir } = tempRoot(t);
  fs.writeFileSync(stateDir(root), `\ufeff${journalText(['gateway-a'])}`);
  t.deepEqual([...readPendingRestarts(dir).services], ['gateway-a']);
});

test('a journal that is a symlink is not followed: nothing pending, no owner', (t) => {
  const { root, dir } = tempRoot(t);
  const elsewhere = path.join(root, 'elsewhere.json');
  fs.writeFileSync(elsewhere, journalText(['gateway-a']));
  fs.symlinkSync(elsewhere, stateDir(root));
  t.deepEqual(readPendingRestarts(dir), { services: new Set() });
});

test('a journal that is a FIFO reads as empty at once, never waited on', (t) => {
  const { root, dir } = tempRoot(t);
  makeFifo(stateDir(root));
  t.deepEqual(readPendingRestarts(dir), { services: new Set() });
});

test('a journal over 1 MiB is not read; one of exactly 1 MiB is', (t) => {
  const { root, dir } = tempRoot(t);
  const journal = stateDir(root);
  const text = journalText(['gateway-a']);
  fs.writeFileSync(journal, text.padEnd(JOURNAL_CAP, ' '));
  t.deepEqual([...readPendingRestarts(dir).services], ['gateway-a']);
  fs.writeFileSync(journal, text.padEnd(JOURNAL_CAP + 1, ' '));
  t.deepEqual(readPendingRestarts(dir), { services: new Set() });
});

test('a state directory that is a symlink to a private directory is not ours: its journal is not read', (t) => {
  const { root, dir } = tempRoot(t);
  const real = path.join(root, 'real-state');
  fs.mkdirSync(real, { mode: 0o700 });
  fs.chmodSync(real, 0o700);
  fs.writeFileSync(path.join(real, RESTARTS_FILE), journalText(['gateway-a']));
  fs.symlinkSync(real, path.join(root, STATE_DIR));
  t.deepEqual(readPendingRestarts(dir), { services: new Set() });
});

test('reading leaves no descriptor open (a watcher reads the journal every pass)', (t) => {
  const { root, dir } = tempRoot(t);
  fs.writeFileSync(stateDir(root), journalText(['gateway-a']));
  const open = (): number => fs.readdirSync('/proc/self/fd').length;
  readPendingRestarts(dir);
  const before = open();
  for (let i = 0; i < 50; i++) readPendingRestarts(dir);
  t.is(open(), before);
});
