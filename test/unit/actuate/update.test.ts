/**
 * src/actuate/update.ts: in-place fixes of a live slot on a temp tree. Each change kind, the
 * restart, running twice, and the failure paths (missing slot, no listener for the restart).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { applyRestart } from '../../../src/actuate/restarts.js';
import { applyUpdate } from '../../../src/actuate/update.js';
import type { DirChange, FileChange, RestartOp, UpdateOp } from '../../../src/model.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';
import { SLOT, modeOf, scandirWithSlot } from './support.js';
import { needsRoot } from '../../helpers/needs.js';

const NEW_RUN = '#!/bin/sh\nexec new\n';

function updateOf(changes: readonly FileChange[], dirs: readonly DirChange[] = []): UpdateOp {
  return { kind: 'update', service: SLOT, profile: 'a', reason: 'run differs', dirs, changes };
}

const RESTART: RestartOp = { kind: 'restart', service: SLOT, profile: 'a', reason: 'run changed' };

const writeRun: FileChange = { path: 'run', fix: 'write', spec: { path: 'run', content: NEW_RUN, mode: 0o755 } };

test('a write replaces the content and mode, and applying it twice changes nothing more', (t) => {
  const s = scandirWithSlot(t);
  fs.chmodSync(path.join(s.slot, 'run'), 0o700);
  const op = updateOf([writeRun]);
  t.deepEqual(applyUpdate(s.dir, op, undefined), { op, status: 'applied' });
  t.is(fs.readFileSync(path.join(s.slot, 'run'), 'utf8'), NEW_RUN);
  t.is(modeOf(path.join(s.slot, 'run')), 0o755);
  t.is(applyUpdate(s.dir, op, undefined).status, 'applied');
  t.is(fs.readFileSync(path.join(s.slot, 'run'), 'utf8'), NEW_RUN);
  t.deepEqual(fs.readdirSync(s.slot).sort(), ['run'], 'no temp file left behind');
});

test('a write is atomic: a hard link to the old file keeps the old content', (t) => {
  const s = scandirWithSlot(t);
  fs.linkSync(path.join(s.slot, 'run'), path.join(s.root, 'victim'));
  t.is(applyUpdate(s.dir, updateOf([writeRun]), undefined).status, 'applied');
  t.is(fs.readFileSync(path.join(s.root, 'victim'), 'utf8'), '#!/bin/sh\nexec old\n');
});

test('keepMtimeMs rewrites the file keeping its modification time', (t) => {
  const s = scandirWithSlot(t, NEW_RUN);
  const mtimeMs = Date.UTC(2026, 0, 1);
  const op = updateOf([{ ...writeRun, keepMtimeMs: mtimeMs }]);
  t.is(applyUpdate(s.dir, op, undefined).status, 'applied');
  t.is(fs.statSync(path.join(s.slot, 'run')).mtimeMs, mtimeMs);
});

test('a chmod fixes the mode in place without rewriting', (t) => {
  const s = scandirWithSlot(t);
  fs.chmodSync(path.join(s.slot, 'run'), 0o644);
  const ino = fs.statSync(path.join(s.slot, 'run')).ino;
  const op = updateOf([{ path: 'run', fix: 'chmod', spec: { path: 'run', content: '#!/bin/sh\nexec old\n', mode: 0o755 } }]);
  t.is(applyUpdate(s.dir, op, undefined).status, 'applied');
  t.is(modeOf(path.join(s.slot, 'run')), 0o755);
  t.is(fs.statSync(path.join(s.slot, 'run')).ino, ino);
});

test('a missing log/ is created and files under log/ are written into it', (t) => {
  const s = scandirWithSlot(t);
  const logRun: FileChange = { path: 'log/run', fix: 'write', spec: { path: 'log/run', content: '#!/bin/sh\nexec logger\n', mode: 0o755 } };
  const op = updateOf([logRun], [{ path: 'log', fix: 'mkdir', mode: 0o755 }]);
  t.is(applyUpdate(s.dir, op, undefined).status, 'applied');
  t.is(modeOf(path.join(s.slot, 'log')), 0o755);
  t.is(fs.readFileSync(path.join(s.slot, 'log', 'run'), 'utf8'), '#!/bin/sh\nexec logger\n');
});

test('a symlink where log/ goes is unlinked, never followed, and log/ made in its place; a directory there since observe fails the update', (t) => {
  const s = scandirWithSlot(t);
  const target = fs.mkdtempSync(path.join(path.dirname(s.slot), 'target-'));
  fs.writeFileSync(path.join(target, 'keep'), 'x');
  fs.symlinkSync(target, path.join(s.slot, 'log'));
  const logRun: FileChange = { path: 'log/run', fix: 'write', spec: { path: 'log/run', content: '#!/bin/sh\nexec logger\n', mode: 0o755 } };
  const op = updateOf([logRun], [{ path: 'log', fix: 'mkdir', mode: 0o755, replace: true }]);
  t.is(applyUpdate(s.dir, op, undefined).status, 'applied');
  t.true(fs.lstatSync(path.join(s.slot, 'log')).isDirectory());
  t.is(fs.readFileSync(path.join(s.slot, 'log', 'run'), 'utf8'), '#!/bin/sh\nexec logger\n');
  t.deepEqual(fs.readdirSync(target), ['keep'], 'the symlink target is untouched');
  const again = applyUpdate(s.dir, op, undefined);
  t.is(again.status, 'failed', 'a real directory is never unlinked');
  t.true(fs.existsSync(path.join(s.slot, 'log', 'run')));
});

test('the slot directory and log/ get their modes fixed', (t) => {
  const s = scandirWithSlot(t);
  fs.mkdirSync(path.join(s.slot, 'log'), { mode: 0o700 });
  fs.chmodSync(path.join(s.slot, 'log'), 0o700);
  fs.chmodSync(s.slot, 0o700);
  const op = updateOf(
    [],
    [
      { path: '', fix: 'chmod', mode: 0o755 },
      { path: 'log', fix: 'chmod', mode: 0o755 },
    ],
  );
  t.is(applyUpdate(s.dir, op, undefined).status, 'applied');
  t.is(modeOf(s.slot), 0o755);
  t.is(modeOf(path.join(s.slot, 'log')), 0o755);
});

test('restart sends r to the supervisor after the files are in place', (t) => {
  const s = scandirWithSlot(t);
  const fifo = listenOnControl(t, path.join(s.slot, 'supervise'));
  t.is(applyUpdate(s.dir, updateOf([writeRun]), undefined).status, 'applied');
  t.is(applyRestart(s.dir, RESTART).status, 'applied');
  t.is(fifo.received(), 'r');
  t.is(fs.readFileSync(path.join(s.slot, 'run'), 'utf8'), NEW_RUN);
});

test('a restart nobody can hear fails the operation, with the files already fixed', (t) => {
  const s = scandirWithSlot(t);
  makeFifo(path.join(s.slot, 'supervise', 'control'));
  t.is(applyUpdate(s.dir, updateOf([writeRun]), undefined).status, 'applied');
  const result = applyRestart(s.dir, RESTART);
  t.is(result.status, 'failed');
  t.true(result.error?.includes('ENXIO') || result.error?.includes('control'), result.error);
  t.is(fs.readFileSync(path.join(s.slot, 'run'), 'utf8'), NEW_RUN);
});

test('an existing supervise/ is never touched', (t) => {
  const s = scandirWithSlot(t);
  fs.mkdirSync(path.join(s.slot, 'supervise'));
  fs.writeFileSync(path.join(s.slot, 'supervise', 'status'), 'keep');
  t.is(applyUpdate(s.dir, updateOf([writeRun]), undefined).status, 'applied');
  t.is(fs.readFileSync(path.join(s.slot, 'supervise', 'status'), 'utf8'), 'keep');
});

test('a missing slot fails with a message naming it, and nothing is created', (t) => {
  const s = scandirWithSlot(t);
  const result = applyUpdate(s.dir, { ...updateOf([writeRun]), service: 'gateway-gone' }, undefined);
  t.is(result.status, 'failed');
  t.true(result.error?.includes('gateway-gone'), result.error);
  t.false(fs.existsSync(path.join(s.root, 'gateway-gone')));
});

test('a log/ that is a symlink is not followed', (t) => {
  const s = scandirWithSlot(t);
  const outside = path.join(s.root, 'outside');
  fs.mkdirSync(outside);
  fs.symlinkSync(outside, path.join(s.slot, 'log'));
  const logRun: FileChange = { path: 'log/run', fix: 'write', spec: { path: 'log/run', content: 'x', mode: 0o755 } };
  const result = applyUpdate(s.dir, updateOf([logRun]), undefined);
  t.is(result.status, 'failed');
  t.deepEqual(fs.readdirSync(outside), []);
});

needsRoot(test)(
  'the look again after the chown is for adoptions only: a slot of ours keeps what else it holds when its record is rewritten',
  (t) => {
    const s = scandirWithSlot(t);
    fs.writeFileSync(path.join(s.slot, 'notification-fd'), '3\n');
    fs.chownSync(s.slot, 65534, 65534);
    const record: FileChange = {
      path: '.reconcile-gateways.json',
      fix: 'write',
      spec: { path: '.reconcile-gateways.json', content: '{}\n', mode: 0o644 },
    };
    const owned = updateOf([record], [{ path: '', fix: 'chown', mode: 0o755 }]);
    t.deepEqual(applyUpdate(s.dir, owned, { uid: 0, gid: 0 }), { op: owned, status: 'applied' });
    fs.chownSync(s.slot, 65534, 65534);
    const adoption: UpdateOp = { ...owned, adopt: true };
    const result = applyUpdate(s.dir, adoption, { uid: 0, gid: 0 });
    t.is(result.status, 'failed');
    t.regex(result.error ?? '', /notification-fd appeared while the slot was being adopted/);
  },
);
