import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { closeDir } from '../../../src/safe-fs/index.js';
import { FatalError, LockHeldError } from '../../../src/errors.js';
import { openScandir } from '../../../src/cli/pass.js';
import { checkLockFileDir, lockPath, replacedWarning, takeLock } from '../../../src/cli/run-lock.js';
import { world } from './support.js';

test('the lock is --lock-file, else in the scandir’s state directory; a second taker is refused', async (t) => {
  const w = await world(t);
  const own = path.join(w.root, 'my.lock');
  t.is(lockPath(w.args('sync', '--lock-file', own)), own);
  t.true(lockPath(w.args('sync')).startsWith(`${w.scandir}/`));
  const scandir = openScandir(w.scandir, 'create');
  t.teardown(() => closeDir(scandir));
  const held = await takeLock(w.args('sync'), scandir, false);
  t.teardown(() => held.release());
  t.true(fs.existsSync(lockPath(w.args('sync'))));
  await t.throwsAsync(takeLock(w.args('sync'), scandir, false), { instanceOf: LockHeldError });
});

test('replacing a foreign state directory says what moved, and why the old one stays when it does', (t) => {
  const path_ = '/run/service/.reconcile-gateways';
  const moved = replacedWarning(path_, 'a directory of uid 1000', { moved: ['gateway-a'], kept: [] });
  t.is(
    moved,
    "replaced /run/service/.reconcile-gateways, a directory of uid 1000 and not this user's private directory (did a pass run as another user make it?): " +
      'its restart journal and trash are gone; gateway-a, pending removal there with its supervisor still running, moved into the new trash (its purge stops it); ' +
      'run every pass over a scandir as one user (root in the Hermes image; hermes with RECONCILE_GATEWAYS_RUN_AS=hermes)',
  );
  const kept = replacedWarning(path_, 'a directory of uid 1000', { moved: [], kept: ['gateway-b'], unchecked: true, asideKept: true });
  t.true(
    kept.includes(
      'the old directory stays in the scandir as .reconcile-gateways.foreign.*, not deleted, since gateway-b still runs there and could not be moved, and not all of its trash could be checked',
    ),
    kept,
  );
  t.false(kept.includes('are gone'), 'nothing is said to be gone that stays');
  const undeleted = replacedWarning(path_, 'a directory of uid 1000', { moved: [], kept: [], asideKept: true });
  t.true(
    undeleted.includes('stays in the scandir as .reconcile-gateways.foreign.*, not deleted, since it could not be deleted'),
    undeleted,
  );
});

test("a watcher's --lock-file in a directory that does not exist is refused at start, as boot and sync refuse it", async (t) => {
  const w = await world(t);
  const missing = path.join(w.root, 'no-such-dir', 'run.lock');
  t.throws(() => checkLockFileDir(w.args('watch', '--lock-file', missing)), {
    instanceOf: FatalError,
    message: `cannot use lock file ${missing}: its directory ${path.dirname(missing)} does not exist; create it, or point --lock-file or RECONCILE_GATEWAYS_LOCK_FILE at a file in a directory only the user running the tool can write`,
  });
  t.notThrows(() => checkLockFileDir(w.args('watch', '--lock-file', path.join(w.root, 'run.lock'))));
  t.notThrows(() => checkLockFileDir(w.args('watch')), 'the default lock lives in the state directory, checked on its own');
  const file = path.join(w.root, 'a-file');
  fs.writeFileSync(file, '');
  t.throws(() => checkLockFileDir(w.args('watch', '--lock-file', path.join(file, 'run.lock'))), {
    instanceOf: FatalError,
    message: `cannot use lock file ${path.join(file, 'run.lock')}: ${file} is not a directory; point --lock-file or RECONCILE_GATEWAYS_LOCK_FILE at a file in a directory only the user running the tool can write`,
  });
  t.throws(() => checkLockFileDir(w.args('watch', '--lock-file', path.join(file, 'sub', 'run.lock'))), {
    instanceOf: FatalError,
    message: /: a part of .* is a file, not a directory; point --lock-file/,
  });
  t.throws(() => checkLockFileDir(w.args('watch', '--lock-file', `${w.statusFile}.lock`)), {
    instanceOf: FatalError,
    message: /it is the watcher's own lock \(beside its status file\), which a pass would wait on forever; point --lock-file/,
  });
});
