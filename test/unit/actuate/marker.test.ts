/**
 * src/actuate/marker.ts: up/down as the `down` marker, plus the command byte when a supervisor listens.
 * Each operation runs twice (idempotent) and fails as a result, never a throw.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { applyMarker } from '../../../src/actuate/marker.js';
import type { DownOp, UpOp } from '../../../src/model.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';
import { SLOT, modeOf, scandirWithSlot } from './support.js';

const up: UpOp = { kind: 'up', service: SLOT, profile: 'a', reason: 'desired_state running' };
const down: DownOp = { kind: 'down', service: SLOT, profile: 'a', reason: 'desired_state stopped' };

test('down creates the down marker (0644, empty), and again is a no-op', (t) => {
  const s = scandirWithSlot(t);
  t.deepEqual(applyMarker(s.dir, down), { op: down, status: 'applied' });
  t.deepEqual(applyMarker(s.dir, down), { op: down, status: 'applied' });
  t.is(fs.readFileSync(path.join(s.slot, 'down'), 'utf8'), '');
  t.is(modeOf(path.join(s.slot, 'down')), 0o644);
});

test('up removes the down marker, and again is a no-op', (t) => {
  const s = scandirWithSlot(t);
  fs.writeFileSync(path.join(s.slot, 'down'), '');
  t.deepEqual(applyMarker(s.dir, up), { op: up, status: 'applied' });
  t.deepEqual(applyMarker(s.dir, up), { op: up, status: 'applied' });
  t.false(fs.existsSync(path.join(s.slot, 'down')));
});

test('up and down also send u and d to a supervisor listening on the slot, whatever this user knows of s6-svscan', (t) => {
  const s = scandirWithSlot(t);
  const fifo = listenOnControl(t, path.join(s.slot, 'supervise'));
  t.is(applyMarker(s.dir, down).status, 'applied');
  t.is(applyMarker(s.dir, up).status, 'applied');
  t.is(fifo.received(), 'du');
});

test('a slot not supervised (no supervise/, or nobody reading) gets only the marker', (t) => {
  const s = scandirWithSlot(t);
  t.is(applyMarker(s.dir, down).status, 'applied');
  makeFifo(path.join(s.slot, 'supervise', 'control'));
  t.is(applyMarker(s.dir, up).status, 'applied');
  t.false(fs.existsSync(path.join(s.slot, 'down')));
});

test('a missing slot fails with a message naming it', (t) => {
  const s = scandirWithSlot(t);
  const result = applyMarker(s.dir, { ...down, service: 'gateway-gone' });
  t.is(result.status, 'failed');
  t.true(result.error?.includes('gateway-gone'), result.error);
});

test('a slot that is a symlink is not followed', (t) => {
  const s = scandirWithSlot(t);
  fs.symlinkSync(s.slot, path.join(s.root, 'gateway-link'));
  const result = applyMarker(s.dir, { ...down, service: 'gateway-link' });
  t.is(result.status, 'failed');
  t.false(fs.existsSync(path.join(s.slot, 'down')), 'nothing written through the link');
});

test('a down marker that is a directory makes up fail, not loop', (t) => {
  const s = scandirWithSlot(t);
  fs.mkdirSync(path.join(s.slot, 'down'));
  const result = applyMarker(s.dir, up);
  t.is(result.status, 'failed');
  t.truthy(result.error);
});

test('a command that cannot reach the supervisor fails the operation, saying the marker is in place and when it takes effect', (t) => {
  const s = scandirWithSlot(t);
  fs.mkdirSync(path.join(s.slot, 'supervise'));
  fs.writeFileSync(path.join(s.slot, 'supervise', 'control'), ''); // not a FIFO: nothing to tell
  const result = applyMarker(s.dir, down);
  t.is(result.status, 'failed');
  t.regex(
    result.error ?? '',
    /^the down marker is written, but its supervisor was not told \(.*not a FIFO\): it takes effect when the supervisor next starts$/,
  );
  t.true(fs.existsSync(path.join(s.slot, 'down')), 'the marker is written all the same');
});
