/**
 * flock(2) and mkfifo(3) come from the optional native packages fs-ext and mkfifo (src/native.ts);
 * without them the tool spawns flock(1) and mkfifo(1). On our machines `npm ci` compiles both, so
 * these tests insist they loaded (else every other test would quietly cover only the fallback),
 * check the native calls against the real commands, and check the fallback (forced with
 * RECONCILE_GATEWAYS_NATIVE=0) builds the very same slots.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { LockHeldError } from '../../src/errors.js';
import { acquireLock } from '../../src/lock.js';
import { nativeFlock, nativeMkfifo } from '../../src/native.js';
import { makeFifos } from '../../src/actuate/fifo.js';
import { closeDir, openRoot, withExactModes } from '../../src/safe-fs/index.js';
import { bootArgs, runCli, sandbox } from '../helpers/cli.js';
import { diffSnapshots, makeHermesHome, removeTree, snapshotTree, tempDir } from '../helpers/tree.js';

/** Whether `flock(1)` can take `file` at once (exit 0) or finds it held (exit 1). */
function otherProcessCanLock(file: string): boolean {
  const r = spawnSync('flock', ['--exclusive', '--nonblock', file, 'true']);
  if (r.status !== 0 && r.status !== 1) throw new Error(`flock(1) failed: ${String(r.stderr)}`);
  return r.status === 0;
}

test('the native packages built and load (npm ci compiles them with node-gyp)', (t) => {
  t.not(nativeFlock(), undefined, 'fs-ext did not load: check the node-gyp output of npm ci');
  t.not(nativeMkfifo(), undefined, 'mkfifo did not load: check the node-gyp output of npm ci');
});

test('the lock taken through fs-ext is a real flock(2): flock(1) sees it, and it is gone on release', async (t) => {
  const dir = await tempDir('rg-native-');
  t.teardown(() => removeTree(dir));
  const file = path.join(dir, 'lock');
  const held = await acquireLock(file, false);
  t.false(otherProcessCanLock(file), 'another process must find the lock held');
  // A second open file description conflicts too, even in the same process.
  await t.throwsAsync(acquireLock(file, false), { instanceOf: LockHeldError });
  held.release();
  t.true(otherProcessCanLock(file), 'released');
  t.is(fs.statSync(file).mode & 0o777, 0o600);
});

test('native mkfifo makes FIFOs with the exact mode under withExactModes, and names each failure', async (t) => {
  const dir = await tempDir('rg-native-');
  t.teardown(() => removeTree(dir));
  await mkdir(path.join(dir, 'a'));
  const base = openRoot(dir);
  try {
    const errors = withExactModes(() => makeFifos(base, ['a/control', 'missing/control', 'a/control'], 0o620));
    const st = fs.lstatSync(path.join(dir, 'a', 'control'));
    t.true(st.isFIFO());
    t.is(st.mode & 0o7777, 0o620);
    const lines = errors.trim().split('\n');
    t.is(lines.length, 2, errors);
    t.regex(lines[0] ?? '', /^mkfifo: .*missing\/control.*No such file or directory/);
    t.regex(lines[1] ?? '', /^mkfifo: .*a\/control.*File exists/);
  } finally {
    closeDir(base);
  }
});

test('the spawn fallback (RECONCILE_GATEWAYS_NATIVE=0) builds the same slots, FIFOs and modes included', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { alice: { state: { desired_state: 'running' } }, bob: { state: { desired_state: 'stopped' } } }, { desired_state: 'running' });
  const native = path.join(box.root, 'native');
  const fallback = path.join(box.root, 'fallback');
  const a = await runCli(bootArgs(box.home, native));
  const b = await runCli(bootArgs(box.home, fallback), { env: { RECONCILE_GATEWAYS_NATIVE: '0' } });
  t.is(a.code, 0, a.stderr);
  t.is(b.code, 0, b.stderr);
  t.is(b.stdout, a.stdout);
  const snapA = await snapshotTree(native);
  const snapB = await snapshotTree(fallback);
  t.deepEqual(diffSnapshots(snapA, snapB, { ignoreVolatile: true }), []);
  const fifos = [...snapA].filter(([, e]) => e.type === 'fifo').map(([p]) => p);
  t.is(fifos.length, 6, 'supervise/control and log/supervise/control of three slots');
});
