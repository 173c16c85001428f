/**
 * src/actuate/sweep.ts: boot deletes a profile's stale runtime files (the entries themselves,
 * never what a symlink points to) and upstream's staging leftovers in the scandir. Every file is
 * tried; a failure is a result naming the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { applyCleanup, applySweep } from '../../../src/actuate/sweep.js';
import type { CleanupOp, SweepOp } from '../../../src/model.js';
import { REMOVAL_BUDGET } from '../../../src/safe-fs/index.js';
import { makeFifo } from '../../helpers/fifo.js';
import { put, tempRoot } from '../support.js';

/** A pass's removal budget, as applyPlan makes one. */
const fresh = (): { left: number } => ({ left: REMOVAL_BUDGET });

const sweepOf = (dir: string, files: readonly string[] = ['gateway.pid', 'processes.json']): SweepOp => ({
  kind: 'sweep',
  service: 'gateway-a',
  profile: 'a',
  reason: 'stale runtime files',
  dir,
  files,
});

const CLEANUP: CleanupOp = { kind: 'cleanup', service: 'gateway-a', profile: 'a', reason: 'upstream leftover', entry: '.gateway-a.tmp' };

test('sweep deletes the runtime files in a profile directory and nothing else; twice is fine', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'profiles/a/gateway.pid', '42');
  put(root, 'profiles/a/processes.json', '[]');
  put(root, 'profiles/a/SOUL.md', 'soul');
  const op = sweepOf('profiles/a');
  t.deepEqual(applySweep(dir, op), { op, status: 'applied' });
  t.deepEqual(applySweep(dir, op), { op, status: 'applied' });
  t.deepEqual(fs.readdirSync(path.join(root, 'profiles', 'a')), ['SOUL.md']);
});

test("the root profile's files are swept in HERMES_HOME itself", (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway.pid', '42');
  t.is(applySweep(dir, sweepOf('')).status, 'applied');
  t.false(fs.existsSync(path.join(root, 'gateway.pid')));
});

test('a runtime file that is a symlink or a FIFO is unlinked (never followed or opened), its target kept', (t) => {
  const { root, dir } = tempRoot(t);
  const victim = put(root, 'victim', 'precious');
  fs.mkdirSync(path.join(root, 'profiles', 'a'), { recursive: true });
  fs.symlinkSync(victim, path.join(root, 'profiles', 'a', 'gateway.pid'));
  makeFifo(path.join(root, 'profiles', 'a', 'processes.json'));
  t.is(applySweep(dir, sweepOf('profiles/a')).status, 'applied');
  t.deepEqual(fs.readdirSync(path.join(root, 'profiles', 'a')), []);
  t.is(fs.readFileSync(victim, 'utf8'), 'precious');
});

test('one file that cannot be deleted fails the sweep naming it, and the other is still deleted', (t) => {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'profiles', 'a', 'gateway.pid'), { recursive: true });
  put(root, 'profiles/a/processes.json', '[]');
  const result = applySweep(dir, sweepOf('profiles/a'));
  t.is(result.status, 'failed');
  t.true(result.error?.startsWith('gateway.pid: unlink '), result.error);
  t.false(fs.existsSync(path.join(root, 'profiles', 'a', 'processes.json')));
});

test('a profile directory that is a symlink or missing fails the sweep; nothing is deleted through it', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'elsewhere/gateway.pid', '42');
  fs.mkdirSync(path.join(root, 'profiles'));
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'profiles', 'a'));
  t.is(applySweep(dir, sweepOf('profiles/a')).status, 'failed');
  t.true(fs.existsSync(path.join(root, 'elsewhere', 'gateway.pid')));
  const missing = applySweep(dir, sweepOf('profiles/gone'));
  t.true(missing.error?.includes('profiles/gone'), missing.error);
});

test('cleanup deletes an upstream staging leftover tree; a missing one is already done', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, '.gateway-a.tmp/run', 'x');
  put(root, '.gateway-a.tmp/log/run', 'x');
  t.deepEqual(applyCleanup(dir, CLEANUP, fresh()), { op: CLEANUP, status: 'applied' });
  t.false(fs.existsSync(path.join(root, '.gateway-a.tmp')));
  t.is(applyCleanup(dir, CLEANUP, fresh()).status, 'applied');
});

test('a leftover that is a symlink is removed as a link; inner symlinks are not followed', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'elsewhere/keep', 'precious');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, '.gateway-a.tmp'));
  t.is(applyCleanup(dir, CLEANUP, fresh()).status, 'applied');
  put(root, '.gateway-a.tmp/run', 'x');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, '.gateway-a.tmp', 'log'));
  t.is(applyCleanup(dir, CLEANUP, fresh()).status, 'applied');
  t.is(fs.readFileSync(path.join(root, 'elsewhere', 'keep'), 'utf8'), 'precious');
  t.deepEqual(fs.readdirSync(root).sort(), ['elsewhere']);
});

test('cleanups share the pass budget: what it cannot delete now is left for the next boot, said so', (t) => {
  const { root, dir } = tempRoot(t);
  for (const name of ['a', 'b']) for (const f of ['run', 'finish', 'log/run']) put(root, `.gateway-${name}.tmp/${f}`, 'x');
  const budget = { left: 6 };
  t.is(applyCleanup(dir, CLEANUP, budget).status, 'applied');
  const second = applyCleanup(dir, { ...CLEANUP, service: 'gateway-b', profile: 'b', entry: '.gateway-b.tmp' }, budget);
  t.is(second.status, 'failed');
  t.true(second.error?.includes('.gateway-b.tmp is too large to delete in one pass'), second.error);
  t.true(fs.existsSync(path.join(root, '.gateway-b.tmp')), 'the rest stays for the next boot');
  t.is(applyCleanup(dir, { ...CLEANUP, service: 'gateway-b', profile: 'b', entry: '.gateway-b.tmp' }, fresh()).status, 'applied');
});
