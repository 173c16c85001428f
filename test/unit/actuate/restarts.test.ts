/**
 * src/actuate/restarts.ts: the pending-restart journal is written atomically, read back by
 * observe, cleared when done, and a damaged journal reads as empty (nothing is lost or invented).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { clearRestarts, persistRestarts } from '../../../src/actuate/restarts.js';
import { RESTARTS_FILE, readPendingRestarts } from '../../../src/observe/restarts.js';
import { scandirWithSlot } from './support.js';

test('persisted restarts are read back sorted and deduplicated, then cleared', (t) => {
  const s = scandirWithSlot(t);
  persistRestarts(s.dir, ['gateway-b', 'gateway-a', 'gateway-b']);
  t.deepEqual(JSON.parse(fs.readFileSync(path.join(s.root, RESTARTS_FILE), 'utf8')), { formatVersion: '1', services: ['gateway-a', 'gateway-b'] });
  t.deepEqual([...readPendingRestarts(s.dir).services], ['gateway-a', 'gateway-b']);
  clearRestarts(s.dir);
  t.false(fs.existsSync(path.join(s.root, RESTARTS_FILE)));
  t.deepEqual([...readPendingRestarts(s.dir).services], []);
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
  t.deepEqual(fs.readdirSync(s.root).filter((e) => e.startsWith('.')).sort(), [RESTARTS_FILE]);
});

test('a damaged journal reads as empty; entries that are not strings are dropped', (t) => {
  const s = scandirWithSlot(t);
  const cases: [string, string[]][] = [
    ['', []],
    ['{"services": ', []],
    ['[]', []],
    ['{"services": "gateway-a"}', []],
    ['{"services": [1, "gateway-a"]}', ['gateway-a']],
  ];
  for (const [content, expected] of cases) {
    fs.writeFileSync(path.join(s.root, RESTARTS_FILE), content);
    t.deepEqual([...readPendingRestarts(s.dir).services], expected, content);
  }
});

test('a journal that is a symlink is not followed when persisting', (t) => {
  const s = scandirWithSlot(t);
  const victim = path.join(s.slot, 'victim');
  fs.writeFileSync(victim, 'keep');
  fs.symlinkSync(victim, path.join(s.root, RESTARTS_FILE));
  try {
    persistRestarts(s.dir, ['gateway-a']);
  } catch {
    // Refusing is as good as replacing the link: what matters is the victim.
  }
  t.is(fs.readFileSync(victim, 'utf8'), 'keep');
});
