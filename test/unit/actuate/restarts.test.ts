/**
 * src/actuate/restarts.ts: the pending-restart journal is written atomically into the scandir's
 * private state directory (src/journal.ts), read back by observe, cleared when done, and a damaged
 * journal reads as empty (nothing is lost or invented). One outside that directory is never read.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { clearRestarts, persistRestarts } from '../../../src/actuate/restarts.js';
import { RESTARTS_FILE, readPendingRestarts } from '../../../src/observe/restarts.js';
import { STATE_DIR, STATE_MARKER } from '../../../src/state-dir/index.js';
import { scandirWithSlot } from './support.js';

const journalOf = (root: string): string => path.join(root, STATE_DIR, RESTARTS_FILE);

test('persisted restarts are read back sorted and deduplicated, then cleared', (t) => {
  const s = scandirWithSlot(t);
  persistRestarts(s.dir, ['gateway-b', 'gateway-a', 'gateway-b']);
  t.deepEqual(JSON.parse(fs.readFileSync(journalOf(s.root), 'utf8')), { formatVersion: '1', services: ['gateway-a', 'gateway-b'] });
  t.deepEqual([...readPendingRestarts(s.dir).services], ['gateway-a', 'gateway-b']);
  clearRestarts(s.dir);
  t.false(fs.existsSync(journalOf(s.root)));
  t.deepEqual([...readPendingRestarts(s.dir).services], []);
});

test('the journal lives in a private state directory (0700) and is itself 0600', (t) => {
  const s = scandirWithSlot(t);
  persistRestarts(s.dir, ['gateway-a']);
  t.is(fs.lstatSync(path.join(s.root, STATE_DIR)).mode & 0o7777, 0o700);
  t.is(fs.lstatSync(journalOf(s.root)).mode & 0o7777, 0o600);
});

test('clearing twice, or with no journal, is fine', (t) => {
  const s = scandirWithSlot(t);
  t.notThrows(() => clearRestarts(s.dir));
  persistRestarts(s.dir, ['gateway-a']);
  clearRestarts(s.dir);
  t.notThrows(() => clearRestarts(s.dir));
});

test('persisting replaces the journal and leaves no temp file', (t) => {
  const s = scandirWithSlot(t);
  persistRestarts(s.dir, ['gateway-a']);
  persistRestarts(s.dir, ['gateway-c']);
  t.deepEqual([...readPendingRestarts(s.dir).services], ['gateway-c']);
  t.deepEqual(fs.readdirSync(path.join(s.root, STATE_DIR)), [STATE_MARKER, RESTARTS_FILE]);
});

test('a damaged journal reads as empty; entries that are not strings are dropped', (t) => {
  const s = scandirWithSlot(t);
  persistRestarts(s.dir, []);
  const cases: [string, string[]][] = [
    ['', []],
    ['{"services": ', []],
    ['[]', []],
    ['{"services": "gateway-a"}', []],
    ['{"services": [1, "gateway-a"]}', ['gateway-a']],
  ];
  for (const [content, expected] of cases) {
    fs.writeFileSync(journalOf(s.root), content);
    t.deepEqual([...readPendingRestarts(s.dir).services], expected, content);
  }
});

test('a journal outside a private state directory is never read (issue 16 #11)', (t) => {
  const s = scandirWithSlot(t);
  const doc = JSON.stringify({ formatVersion: '1', services: ['gateway-a'] });
  // The location before the state directory, which the hermes user could write.
  fs.writeFileSync(path.join(s.root, '.reconcile-gateways.restarts.json'), doc);
  t.deepEqual([...readPendingRestarts(s.dir).services], []);
  // A state directory that is not private (0755): nothing in it is trusted.
  fs.mkdirSync(path.join(s.root, STATE_DIR), { mode: 0o755 });
  fs.chmodSync(path.join(s.root, STATE_DIR), 0o755);
  fs.writeFileSync(journalOf(s.root), doc);
  t.deepEqual([...readPendingRestarts(s.dir).services], []);
});

test('a journal that is a symlink is not followed when persisting', (t) => {
  const s = scandirWithSlot(t);
  const victim = path.join(s.slot, 'victim');
  fs.writeFileSync(victim, 'keep');
  persistRestarts(s.dir, []);
  fs.rmSync(journalOf(s.root));
  fs.symlinkSync(victim, journalOf(s.root));
  try {
    persistRestarts(s.dir, ['gateway-a']);
  } catch {
    // Refusing is as good as replacing the link: what matters is the victim.
  }
  t.is(fs.readFileSync(victim, 'utf8'), 'keep');
});
