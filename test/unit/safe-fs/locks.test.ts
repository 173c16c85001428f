/**
 * src/safe-fs/locks.ts: who holds a lock, read from the kernel's lock table. A table written to a
 * temp file stands in for `/proc/locks`; the holders are this process (root or this user) and a
 * pid no process has.
 */
import path from 'node:path';
import test from 'ava';
import { lockTable } from '../../../src/safe-fs/locks.js';
import { put, tempRoot } from '../support.js';

const NO_SUCH_PID = 4_194_305; // above the largest pid_max

test('only a POSIX write lock held by a process of root or this user counts; other kinds, waiters and read locks do not', (t) => {
  const { root } = tempRoot(t);
  const me = process.pid;
  const table = put(
    root,
    'locks',
    [
      `1: POSIX  ADVISORY  WRITE ${me} fe:00:100 0 EOF`,
      `2: FLOCK  ADVISORY  WRITE ${me} fe:00:200 0 EOF`,
      `3: OFDLCK ADVISORY  WRITE -1 fe:00:300 0 EOF`,
      `4: -> POSIX  ADVISORY  WRITE ${me} fe:00:400 0 EOF`,
      `5: POSIX  ADVISORY  READ  ${me} fe:00:500 0 EOF`,
      `6: POSIX  ADVISORY  WRITE ${NO_SUCH_PID} 00:2d:600 0 EOF`,
      `7: POSIX  ADVISORY  WRITE ${NO_SUCH_PID} 00:2d:700 0 EOF`,
      `8: POSIX  ADVISORY  WRITE ${me} 00:2d:700 0 EOF`,
      '',
    ].join('\n'),
  );
  const locks = lockTable(table);
  t.true(locks.isLockedByTrusted('100'));
  for (const ino of ['200', '300', '400', '500', '999']) t.false(locks.isLockedByTrusted(ino), ino);
  t.is(locks.isLockedByTrusted('600'), undefined, 'a holder whose status cannot be read: cannot tell');
  t.true(locks.isLockedByTrusted('700'), 'one trusted holder is enough');
});

test('a lock table that cannot be read tells nothing', (t) => {
  const { root } = tempRoot(t);
  t.is(lockTable(path.join(root, 'missing')).isLockedByTrusted('100'), undefined);
});
