/**
 * src/actuate/marker.ts: up/down as the `down` marker, plus the command byte when s6 is live.
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
  t.deepEqual(applyMarker(s.dir, down, false), { op: down, status: 'applied' });
  t.deepEqual(applyMarker(s.dir, down, false), { op: down, status: 'applied' });
  t.is(fs.readFileSync(path.join(s.slot, 'down'), 'utf8'), '');
  t.is(modeOf(path.join(s.slot, 'down')), 0o644);
});

test('up removes the down marker, and again is a no-op', (t) => {
  const s = scandirWithSlot(t);
  fs.writeFileSync(path.join(s.slot, 'down'), '');
  t.deepEqual(applyMarker(s.dir, up, false), { op: up, status: 'applied' });
  t.deepEqual(applyMarker(s.dir, up, false), { op: up, status: 'applied' });
  t.false(fs.existsSync(path.join(s.slot, 'down')));
});

test('with s6 live, up and down also send u and d to the slot supervisor', (t) => {
  const s = scandirWithSlot(t);
  const fifo = listenOnControl(t, path.join(s.slot, 'supervise'));
  t.is(applyMarker(s.dir, down, true).status, 'applied');
  t.is(applyMarker(s.dir, up, true).status, 'applied');
  t.is(fifo.received(), 'du');
});

test('with s6 live, a slot not yet supervised (no supervise/, or nobody reading) gets only the marker', (t) => {
  const s = scandirWithSlot(t);
  t.is(applyMarker(s.dir, down, true).status, 'applied');
  makeFifo(path.join(s.slot, 'supervise', 'control'));
  t.is(applyMarker(s.dir, up, true).status, 'applied');
  t.false(fs.existsSync(path.join(s.slot, 'down')));
});

test('a missing slot fails with a message naming it', (t) => {
  const s = scandirWithSlot(t);
  const result = applyMarker(s.dir, { ...down, service: 'gateway-gone' }, false);
  t.is(result.status, 'failed');
  t.true(result.error?.includes('gateway-gone'), result.error);
});

test('a slot that is a symlink is not followed', (t) => {
  const s = scandirWithSlot(t);
  fs.symlinkSync(s.slot, path.join(s.root, 'gateway-link'));
  const result = applyMarker(s.dir, { ...down, service: 'gateway-link' }, false);
  t.is(result.status, 'failed');
  t.false(fs.existsSync(path.join(s.slot, 'down')), 'nothing written through the link');
});

test('a down marker that is a directory makes up fail, not loop', (t) => {
  const s = scandirWithSlot(t);
  fs.mkdirSync(path.join(s.slot, 'down'));
  const result = applyMarker(s.dir, up, false);
  t.is(result.status, 'failed');
  t.truthy(result.error);
});
