/**
 * src/observe/death-tally.ts: s6-supervise's `supervise/death_tally`, decoded against bytes a real
 * s6 2.11.3.2 wrote (captured below) and read from a supervise directory the way observe reads
 * every file there: never through a symlink, never blocking on a FIFO, never past the 4096 records
 * s6 keeps. A torn tail is dropped; the records are read, not judged (src/desired/drift.ts does that).
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { DeathRecord } from '../../../src/model.js';
import { LOGGER_TALLY, TALLY, decodeDeathTally, readDeathTally } from '../../../src/observe/death-tally.js';
import { ReadCache } from '../../../src/observe/read-cache.js';
import { S6_DEATH_TALLY } from '../../../src/model/constants.js';
import { closeDir, openDirAt } from '../../../src/safe-fs/index.js';
import { makeFifo } from '../../helpers/fifo.js';
import { tempRoot } from '../support.js';

/**
 * A death_tally from s6 2.11.3.2 on Debian 12: `./run` exited 3, was then killed with s6-svc -k
 * (SIGKILL) and stopped with s6-svc -d (SIGTERM). s6-svdt printed for it:
 *   @400000006b15ffb80308e9e2 exitcode 3
 *   @400000006b15ffbb032e21a3 signal SIGKILL
 *   @400000006b15ffbd03b23da0 signal SIGTERM
 * A killed record's exit byte is 128 + the signal (0x89, 0x8f). The first death was at 2026-12-07T00:36:35Z
 * by the host's clock, which the decoded time matches (so the 37 s TAI offset is right).
 */
const CAPTURED = '400000006b15ffb80308e9e20300' + '400000006b15ffbb032e21a38909' + '400000006b15ffbd03b23da08f0f';

/** What CAPTURED decodes to: TAI64N label − 2^62 − 37 (s6-facts §5), plus the nanoseconds. */
const CAPTURED_DEATHS: readonly DeathRecord[] = [
  { atUnix: 0x6b15ffb8 - 37 + 0x0308e9e2 / 1e9, exitcode: 3, signum: -1 },
  { atUnix: 0x6b15ffbb - 37 + 0x032e21a3 / 1e9, exitcode: -1, signum: 9 },
  { atUnix: 0x6b15ffbd - 37 + 0x03b23da0 / 1e9, exitcode: -1, signum: 15 },
];

const RECORD_SIZE = 14;
const MAX_RECORDS = 4096;

/** One record as s6 writes it. */
function record(unix: number, nanos: number, exitByte: number, signal: number): Buffer {
  const buf = Buffer.alloc(RECORD_SIZE);
  buf.writeBigUInt64BE((1n << 62n) + 37n + BigInt(unix), 0);
  buf.writeUInt32BE(nanos, 8);
  buf[12] = exitByte;
  buf[13] = signal;
  return buf;
}

/** A `supervise/` directory holding `death_tally` (when given), opened as observe opens it. */
function supervise(t: ExecutionContext, tally?: string | Uint8Array) {
  const { root, dir } = tempRoot(t);
  fs.mkdirSync(path.join(root, 'supervise'));
  if (tally !== undefined) fs.writeFileSync(path.join(root, 'supervise', 'death_tally'), tally);
  const sup = openDirAt(dir, 'supervise');
  t.teardown(() => closeDir(sup));
  return { root, file: path.join(root, 'supervise', 'death_tally'), sup };
}

test('a death tally s6 wrote decodes to its deaths, oldest first, as s6-svdt reads it', (t) => {
  const deaths = decodeDeathTally(Buffer.from(CAPTURED, 'hex'));
  t.deepEqual(deaths, CAPTURED_DEATHS);
  t.is(new Date((deaths[0]?.atUnix ?? 0) * 1000).toISOString(), '2026-12-07T00:36:35.050Z');
});

test('a killed run reports its signal and no exit code; an exit reports its code and no signal', (t) => {
  t.deepEqual(decodeDeathTally(Buffer.concat([record(1000, 0, 137, 9), record(1001, 0, 0, 0), record(1002, 0, 255, 0)])), [
    { atUnix: 1000, exitcode: -1, signum: 9 },
    { atUnix: 1001, exitcode: 0, signum: -1 },
    { atUnix: 1002, exitcode: 255, signum: -1 },
  ]);
});

test('an empty tally has no deaths, and a torn trailing record is dropped', (t) => {
  t.deepEqual(decodeDeathTally(new Uint8Array(0)), []);
  t.deepEqual(decodeDeathTally(new Uint8Array(RECORD_SIZE - 1)), []);
  const whole = Buffer.from(CAPTURED, 'hex');
  t.deepEqual(decodeDeathTally(whole.subarray(0, whole.length - 1)), CAPTURED_DEATHS.slice(0, 2));
});

test('records are decoded from where the bytes start, also inside a larger buffer', (t) => {
  // Small Buffers share a pool, so the bytes a read returns rarely start at offset 0 of their ArrayBuffer.
  const backing = Buffer.concat([Buffer.from('garbage!'), Buffer.from(CAPTURED, 'hex'), Buffer.from('more')]);
  const view = new Uint8Array(backing.buffer, backing.byteOffset + 8, CAPTURED.length / 2);
  t.deepEqual(decodeDeathTally(view), CAPTURED_DEATHS);
});

test('readDeathTally reads the death_tally of a supervise directory', (t) => {
  const { sup } = supervise(t, Buffer.from(CAPTURED, 'hex'));
  t.deepEqual(readDeathTally(sup), CAPTURED_DEATHS);
});

test('no death_tally (a service that never died, or an s6 before 2.11) gives undefined; an empty one gives no deaths', (t) => {
  const s = supervise(t);
  t.is(readDeathTally(s.sup), undefined);
  fs.writeFileSync(s.file, '');
  t.deepEqual(readDeathTally(s.sup), []);
});

test('a death_tally that is a symlink is not followed', (t) => {
  const s = supervise(t);
  fs.writeFileSync(path.join(s.root, 'elsewhere'), Buffer.from(CAPTURED, 'hex'));
  fs.symlinkSync(path.join(s.root, 'elsewhere'), s.file);
  t.is(readDeathTally(s.sup), undefined);
});

test('a death_tally that is a FIFO or a directory gives undefined at once, never waited on', (t) => {
  const s = supervise(t);
  makeFifo(s.file);
  t.is(readDeathTally(s.sup), undefined);
  fs.rmSync(s.file);
  fs.mkdirSync(s.file);
  t.is(readDeathTally(s.sup), undefined);
});

test('a full tally (4096 records, the most s6 keeps) is read, its newest 100 kept; anything larger is not s6 and is not read', (t) => {
  const full = Buffer.concat(Array.from({ length: MAX_RECORDS }, (_, i) => record(1000 + i, 0, 1, 0)));
  const s = supervise(t, full);
  const deaths = readDeathTally(s.sup);
  t.is(deaths?.length, S6_DEATH_TALLY, 'as many as a tally of ours holds: thousands of forged ones stay small');
  t.deepEqual(deaths?.[0], { atUnix: 1000 + MAX_RECORDS - S6_DEATH_TALLY, exitcode: 1, signum: -1 });
  t.deepEqual(deaths?.at(-1), { atUnix: 1000 + MAX_RECORDS - 1, exitcode: 1, signum: -1 });
  fs.writeFileSync(s.file, Buffer.concat([full, Buffer.alloc(1)]));
  t.is(readDeathTally(s.sup), undefined);
});

test("through watch's cache an unchanged tally is not decoded again, a death added to it is read", (t) => {
  const s = supervise(t, Buffer.from(CAPTURED, 'hex'));
  // The clock a minute ahead: the file is old enough for the cache to trust its stamp.
  const cache = new ReadCache(() => Date.now() + 60_000);
  const cached = { cache, service: 'gateway-a', file: TALLY };
  const first = readDeathTally(s.sup, cached);
  t.deepEqual(first, CAPTURED_DEATHS);
  t.is(readDeathTally(s.sup, cached), first, 'the same records, not a new decode');
  fs.appendFileSync(s.file, record(2_000_000_000, 0, 1, 0));
  const after = readDeathTally(s.sup, cached);
  t.is(after?.length, CAPTURED_DEATHS.length + 1);
  t.deepEqual(after?.at(-1), { atUnix: 2_000_000_000, exitcode: 1, signum: -1 });
  // The logger's tally is kept under its own path in the slot's group: a read of it is its own.
  const logger = readDeathTally(s.sup, { ...cached, file: LOGGER_TALLY });
  t.deepEqual(logger, after);
  t.not(logger, after);
});
