/**
 * src/actuate/heal.ts: `s6-svc -u` for a service s6 holds down, on a temp slot whose control FIFO
 * this process reads. Only the command byte: no marker or file changes; failures are results.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { applyHeal } from '../../../src/actuate/heal.js';
import type { HealOp } from '../../../src/model.js';
import { closeDir, identityOf, openDirAt } from '../../../src/safe-fs/index.js';
import { listenOnControl, makeFifo } from '../../helpers/fifo.js';
import { SLOT, scandirWithSlot } from './support.js';

const HEAL: HealOp = { kind: 'heal', service: SLOT, profile: 'a', reason: 'held down while running is wanted' };

test('heal sends u to the supervisor and changes nothing on disk; twice is harmless', (t) => {
  const s = scandirWithSlot(t);
  const fifo = listenOnControl(t, path.join(s.slot, 'supervise'));
  const before = fs.readdirSync(s.slot).sort();
  t.deepEqual(applyHeal(s.dir, HEAL), { op: HEAL, status: 'applied' });
  t.deepEqual(applyHeal(s.dir, HEAL), { op: HEAL, status: 'applied' });
  t.is(fifo.received(), 'uu');
  t.deepEqual(fs.readdirSync(s.slot).sort(), before);
});

test('a slot nobody supervises fails the heal with ENXIO, without blocking', (t) => {
  const s = scandirWithSlot(t);
  makeFifo(path.join(s.slot, 'supervise', 'control'));
  const result = applyHeal(s.dir, HEAL);
  t.is(result.status, 'failed');
  t.true(result.error?.includes('ENXIO'), result.error);
});

test('a missing slot or supervise/ fails with a message naming the path', (t) => {
  const s = scandirWithSlot(t);
  const gone = applyHeal(s.dir, { ...HEAL, service: 'gateway-gone' });
  t.true(gone.error?.includes('gateway-gone'), gone.error);
  const bare = applyHeal(s.dir, HEAL);
  t.true(bare.error?.includes(`${SLOT}/supervise`), bare.error);
});

test('a symlinked slot is not followed to a listening supervisor', (t) => {
  const s = scandirWithSlot(t);
  const fifo = listenOnControl(t, path.join(s.root, 'elsewhere', 'supervise'));
  fs.symlinkSync(path.join(s.root, 'elsewhere'), path.join(s.root, 'gateway-link'));
  t.is(applyHeal(s.dir, { ...HEAL, service: 'gateway-link' }).status, 'failed');
  t.is(fifo.received(), '');
});

test('a heal tells only the slot observe saw: a directory swapped in under its name since is left alone', (t) => {
  const s = scandirWithSlot(t);
  const seen = openDirAt(s.dir, SLOT);
  const expect = identityOf(seen);
  closeDir(seen);
  fs.renameSync(s.slot, path.join(s.root, 'seen'));
  const swapped = listenOnControl(t, path.join(s.slot, 'supervise'));
  const result = applyHeal(s.dir, { ...HEAL, expect });
  t.is(result.status, 'failed');
  t.true(result.error?.includes('the slot was replaced since this pass read it'), result.error);
  t.is(swapped.received(), '', "the other directory's supervisor is told nothing");
});
