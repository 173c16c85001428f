/** src/observe/tai.ts: TAI64N labels as Unix seconds, clamped so that every date prints. */
import test from 'ava';
import { MAX_UNIX, taiToUnix } from '../../../src/observe/tai.js';

const label = (unix: bigint): bigint => (1n << 62n) + unix + 37n;

test('a real label is its Unix time plus the nanoseconds', (t) => {
  t.is(taiToUnix(label(1_767_225_600n), 250_000_000), 1_767_225_600.25);
});

test('a label before 1970 is the epoch; one past 9999 is the last second of 9999', (t) => {
  t.is(taiToUnix(0n, 0), 0);
  t.is(taiToUnix(label(0n) - 1n, 999), 0);
  t.is(taiToUnix(2n ** 64n - 1n, 0xffffffff), MAX_UNIX);
  t.is(taiToUnix(label(BigInt(MAX_UNIX) + 1n), 0), MAX_UNIX);
  t.is(new Date(MAX_UNIX * 1000).toISOString(), '9999-12-31T23:59:59.000Z');
});

test('nanoseconds past a second (a forged field) add at most one second, never past the clamp', (t) => {
  t.is(taiToUnix(label(100n), 0xffffffff), 100.999999999);
  t.is(taiToUnix(label(BigInt(MAX_UNIX) - 1n), 0xffffffff), MAX_UNIX);
});
