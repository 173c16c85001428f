/**
 * src/actuate/remove.ts: owned slots leave the scandir into our private trash, s6-svscan is told
 * once (`-an`), and each is deleted when no supervisor runs any more; one still running is left
 * for a later `purge`. The clock and sleep are handed in, so the wait is bounded by a budget, not
 * by real time. The supervisors here are stand-ins: this process holding control FIFOs open, a
 * child working in the service directory (test/helpers/fifo.ts), as s6-supervise does; a reader
 * with nobody working behind it is no supervisor.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { type RemoveOptions, applyRemoves } from '../../../src/actuate/remove.js';
import type { DirIdentity, PurgeOp, RemoveOp } from '../../../src/model.js';
import { closeDir, identityOf, openDirAt } from '../../../src/safe-fs/index.js';
import { STATE_DIR, TRASH_DIR } from '../../../src/state-dir/index.js';
import { listenOnControl, makeFifo, superviseStandIn, svscanStandIn, workerIn } from '../../helpers/fifo.js';
import { put, tempRoot } from '../support.js';

const removeOf = (profile: string, expect?: DirIdentity): RemoveOp => ({
  kind: 'remove',
  service: `gateway-${profile}`,
  profile,
  reason: 'profile deleted',
  ...(expect === undefined ? {} : { expect }),
});

const purgeOf = (profile: string, supervised: boolean): PurgeOp => ({
  kind: 'purge',
  service: `gateway-${profile}`,
  profile,
  reason: 'removal pending',
  supervised,
});

/** A slot left in our trash (the private state directory and trash 0700, as the tool makes them). */
function trashed(root: string, service: string): void {
  put(root, `${STATE_DIR}/${TRASH_DIR}/${service}/run`, 'x');
  fs.chmodSync(path.join(root, STATE_DIR), 0o700);
  fs.chmodSync(path.join(root, STATE_DIR, TRASH_DIR), 0o700);
}

/** Options with a fake clock that sleep advances: the wait budget runs out without real waiting. */
function offline(extra: Partial<RemoveOptions> = {}): RemoveOptions & { readonly slept: () => number } {
  let clock = 0;
  let slept = 0;
  return {
    live: false,
    waitBudgetMs: 1000,
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      slept += ms;
    },
    slept: () => slept,
    ...extra,
  };
}

test('a removed slot leaves the scandir and is deleted; the trash is left empty', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway-a/run', 'x');
  put(root, 'gateway-a/log/run', 'x');
  put(root, 'gateway-b/run', 'x');
  const op = removeOf('a');
  t.deepEqual(applyRemoves(dir, [op], offline()), [{ op, status: 'applied' }]);
  t.deepEqual(fs.readdirSync(root).sort(), [STATE_DIR, 'gateway-b']);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), []);
});

test('only the directory observe saw is removed: one swapped in since is left where it is', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway-a/run', 'ours');
  const slot = openDirAt(dir, 'gateway-a');
  const seen = identityOf(slot);
  closeDir(slot);
  fs.renameSync(path.join(root, 'gateway-a'), path.join(root, 'old'));
  put(root, 'gateway-a/run', 'theirs');
  const [result] = applyRemoves(dir, [removeOf('a', seen)], offline());
  t.is(result?.status, 'failed');
  t.true(result?.error?.includes('the slot was replaced since this pass read it'), result?.error);
  t.is(fs.readFileSync(path.join(root, 'gateway-a', 'run'), 'utf8'), 'theirs');
});

test('a missing slot, a symlink or a FIFO at the slot name fails that removal alone; nothing is followed', (t) => {
  const { root, dir } = tempRoot(t);
  makeFifo(path.join(root, 'gateway-fifo'));
  put(root, 'elsewhere/keep', 'precious');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'gateway-link'));
  put(root, 'gateway-ok/run', 'x');
  const results = applyRemoves(dir, [removeOf('gone'), removeOf('link'), removeOf('fifo'), removeOf('ok')], offline());
  t.deepEqual(
    results.map((r) => r.status),
    ['failed', 'failed', 'failed', 'applied'],
  );
  t.true(results[0]?.error?.includes('gateway-gone'), results[0]?.error);
  t.true(fs.lstatSync(path.join(root, 'gateway-fifo')).isFIFO());
  t.true(fs.lstatSync(path.join(root, 'gateway-link')).isSymbolicLink());
  t.deepEqual(fs.readdirSync(path.join(root, 'elsewhere')), ['keep']);
  t.false(fs.existsSync(path.join(root, 'gateway-ok')));
});

test('with s6 live, -an is sent once for all removals, and a supervisor still running leaves its slot pending in the trash', (t) => {
  const { root, dir } = tempRoot(t);
  const svscan = svscanStandIn(t, root);
  put(root, 'gateway-a/run', 'x');
  const supervisor = superviseStandIn(t, path.join(root, 'gateway-b', 'supervise'));
  const options = offline({ live: true });
  const results = applyRemoves(dir, [removeOf('a'), removeOf('b')], options);
  t.is(svscan.received(), 'an');
  t.is(results[0]?.status, 'applied');
  t.is(results[1]?.status, 'failed');
  t.is(
    results[1]?.error,
    'pending removal: the supervisor of gateway-b still runs (or a process of root works in its directory: see ls -l /proc/*/cwd); the next pass stops it again and resumes',
  );
  t.true(options.slept() >= 1000, 'it waited out its budget (on the fake clock)');
  t.false(fs.existsSync(path.join(root, 'gateway-b')));
  t.true(fs.existsSync(path.join(root, STATE_DIR, TRASH_DIR, 'gateway-b', 'supervise')));
  t.is(supervisor.received(), '', 'nothing is written to the slot supervisor');
});

test('a purge of a gateway that is stopping already sends nothing, and deletes the slot once its supervisor is gone', (t) => {
  const { root, dir } = tempRoot(t);
  const svscan = listenOnControl(t, path.join(root, '.s6-svscan'));
  trashed(root, 'gateway-a');
  const op: PurgeOp = { ...purgeOf('a', true), stopping: true };
  t.deepEqual(applyRemoves(dir, [op], offline({ live: true })), [{ op, status: 'applied' }]);
  t.is(svscan.received(), '', 'no -an: its supervisor was told already, and exits once the gateway has');
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), []);
});

test('while a trashed gateway is stopping, the other removals of the pass are told one by one, never by an -an that would SIGTERM it again', (t) => {
  const { root, dir } = tempRoot(t);
  const svscan = listenOnControl(t, path.join(root, '.s6-svscan'));
  trashed(root, 'gateway-a');
  put(root, 'gateway-b/run', 'x');
  const b = superviseStandIn(t, path.join(root, 'gateway-b', 'supervise'));
  const purge: PurgeOp = { ...purgeOf('a', true), stopping: true };
  const results = applyRemoves(dir, [purge, removeOf('b')], offline({ live: true }));
  t.is(svscan.received(), '', 'no -an while gateway-a stops');
  t.is(b.received(), 'dx', "gateway-b's supervisor is told itself");
  t.deepEqual(
    results.map((r) => r.status),
    ['applied', 'failed'],
    'gateway-b is pending until its supervisor exits (this stand-in never does)',
  );
});

test('a purge resumes a pending removal: -an again while supervised, deletion once it is gone', (t) => {
  const { root, dir } = tempRoot(t);
  const svscan = listenOnControl(t, path.join(root, '.s6-svscan'));
  trashed(root, 'gateway-a');
  const op = purgeOf('a', true);
  t.deepEqual(applyRemoves(dir, [op], offline({ live: true })), [{ op, status: 'applied' }]);
  t.is(svscan.received(), 'an');
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), []);
  const unsupervised = purgeOf('a', false);
  t.is(applyRemoves(dir, [unsupervised], offline({ live: true }))[0]?.status, 'applied', 'already gone: done');
  t.is(svscan.received(), '', 'nothing to reap: no -an');
});

test('with s6-svscan gone since observe looked (nobody reads its control), a slot no supervisor runs is still removed', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway-a/run', 'x');
  const op = removeOf('a');
  t.deepEqual(applyRemoves(dir, [op], offline({ live: true })), [{ op, status: 'applied' }]);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), []);
});

test('without -an (s6-svscan gone, or not this user’s to tell), the trashed slot’s supervisor gets dx, its logger’s once the service is down', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway-a/run', 'x');
  const service = superviseStandIn(t, path.join(root, 'gateway-a', 'supervise'));
  const logger = superviseStandIn(t, path.join(root, 'gateway-a', 'log', 'supervise'));
  const seen: string[] = [];
  let clock = 0;
  const options = offline({
    now: () => clock,
    sleep: (ms) => {
      clock += ms;
      if (seen.length === 0) {
        seen.push(`service:${service.received()} logger:${logger.received()}`);
        service.exit(); // the service is down and its supervisor exited
      } else if (seen.length === 1) {
        seen.push(`logger:${logger.received()}`);
        logger.exit();
      }
    },
  });
  const op = removeOf('a');
  t.deepEqual(applyRemoves(dir, [op], options), [{ op, status: 'applied' }]);
  t.deepEqual(seen, ['service:dx logger:', 'logger:dx'], 'the logger is told only after the service’s supervisor is gone');
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), []);
});

test('a failure injected before one removal leaves that slot and removes the others', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway-a/run', 'x');
  put(root, 'gateway-b/run', 'x');
  const results = applyRemoves(
    dir,
    [removeOf('a'), removeOf('b')],
    offline({
      beforeOperation: (op) => {
        if (op.profile === 'a') throw new Error('injected');
      },
    }),
  );
  t.like(results[0], { status: 'failed', error: 'injected' });
  t.is(results[1]?.status, 'applied');
  t.true(fs.existsSync(path.join(root, 'gateway-a', 'run')));
});

test('symlinks inside a removed slot are deleted as links, their targets kept', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'outside/keep', 'precious');
  put(root, 'gateway-a/run', 'x');
  fs.symlinkSync(path.join(root, 'outside'), path.join(root, 'gateway-a', 'log'));
  t.is(applyRemoves(dir, [removeOf('a')], offline())[0]?.status, 'applied');
  t.is(fs.readFileSync(path.join(root, 'outside', 'keep'), 'utf8'), 'precious');
});

test('no operations: nothing is made', (t) => {
  const { root, dir } = tempRoot(t);
  t.deepEqual(applyRemoves(dir, [], offline()), []);
  t.deepEqual(fs.readdirSync(root), []);
});

test('a crash right after the move leaves the slot in the trash for the next pass, not back in the scandir', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, 'gateway-a/run', 'x');
  const results = applyRemoves(
    dir,
    [removeOf('a')],
    offline({
      afterTrash: () => {
        throw new Error('crash point');
      },
    }),
  );
  t.like(results[0], { status: 'failed', error: 'crash point' });
  t.false(fs.existsSync(path.join(root, 'gateway-a')));
  t.true(fs.existsSync(path.join(root, STATE_DIR, TRASH_DIR, 'gateway-a', 'run')));
});

test('a remove never deletes an earlier removal of the same name whose supervisor still runs in the trash: it waits for the purge', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  // The first removal of gateway-a is pending: its supervisor still runs in the trash.
  const old = superviseStandIn(t, path.join(root, STATE_DIR, TRASH_DIR, 'gateway-a', 'supervise'));
  fs.chmodSync(path.join(root, STATE_DIR), 0o700);
  fs.chmodSync(path.join(root, STATE_DIR, TRASH_DIR), 0o700);
  // The profile came back, and went again: a new slot of the same name is removed.
  put(root, 'gateway-a/run', 'new');
  const purge = purgeOf('a', true);
  const remove = removeOf('a');
  const results = applyRemoves(dir, [purge, remove], offline({ live: true }));
  t.is(results[1]?.status, 'failed');
  t.true(results[1]?.error?.includes('an earlier removal of this slot is still pending: its supervisor still runs in'), results[1]?.error);
  t.is(fs.readFileSync(path.join(root, 'gateway-a', 'run'), 'utf8'), 'new', 'the new slot stays where it is');
  t.true(
    fs.existsSync(path.join(root, STATE_DIR, TRASH_DIR, 'gateway-a', 'supervise', 'control')),
    'the old supervisor can still be reached',
  );
  t.is(old.received(), '', 'the old supervisor is left to the -an');
  t.is(results[0]?.status, 'failed', 'the purge is pending while its supervisor runs');
});

test('removes and purges share one removal budget with the rest of the pass', (t) => {
  const { root, dir } = tempRoot(t);
  for (const f of ['run', 'finish', 'log/run']) put(root, `gateway-a/${f}`, 'x');
  trashed(root, 'gateway-b');
  put(root, `${STATE_DIR}/${TRASH_DIR}/gateway-b/finish`, 'x');
  const budget = { left: 5 };
  const results = applyRemoves(dir, [removeOf('a'), purgeOf('b', false)], offline({ budget }));
  t.is(results[0]?.status, 'applied');
  t.is(results[1]?.status, 'failed');
  t.true(results[1]?.error?.includes('gateway-b is too large to delete in one pass'), results[1]?.error);
  t.true(fs.existsSync(path.join(root, STATE_DIR, TRASH_DIR, 'gateway-b')));
});

test('a control FIFO a process holds open with no supervisor behind it (nothing holds supervise/lock) holds up no removal: deleted at once', (t) => {
  const { root, dir } = tempRoot(t);
  const svscan = svscanStandIn(t, root);
  put(root, 'gateway-a/run', 'x');
  // The hermes user reading its registered slot's control, say: the supervisor itself is gone.
  const held = listenOnControl(t, path.join(root, 'gateway-a', 'supervise'));
  const options = offline({ live: true });
  const op = removeOf('a');
  t.deepEqual(applyRemoves(dir, [op], options), [{ op, status: 'applied' }]);
  t.is(svscan.received(), 'an');
  t.is(options.slept(), 0, 'nothing was waited for');
  t.is(held.received(), '', 'nothing is written to the reader');
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), []);
});

test('a slot whose supervisor still works in it is never deleted, though its control and lock were renamed away (a user who may write its supervise/)', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  put(root, 'gateway-a/run', 'x');
  const supervisor = superviseStandIn(t, path.join(root, 'gateway-a', 'supervise'));
  // What a user who may write supervise/ can do: s6 and the tool then see no supervisor there.
  fs.renameSync(supervisor.path, path.join(root, 'gateway-a', 'supervise', 'control.old'));
  fs.renameSync(path.join(root, 'gateway-a', 'supervise', 'lock'), path.join(root, 'gateway-a', 'supervise', 'lock.old'));
  const op = removeOf('a');
  const [result] = applyRemoves(dir, [op], offline({ live: true }));
  t.like(result, { status: 'failed' });
  t.regex(result?.error ?? '', /^pending removal: the supervisor of gateway-a still runs \(or a process of root works in its directory/);
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), ['gateway-a'], 'kept in the trash for a later pass');
  supervisor.exit();
  const purge = purgeOf('a', false);
  t.deepEqual(applyRemoves(dir, [purge], offline({ live: true })), [{ op: purge, status: 'applied' }], 'deleted once it is gone');
});

test('a remove waits for an earlier removal of its name whose supervisor still works in the trash, whatever its supervise/ says', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  put(root, 'gateway-a/run', 'new');
  trashed(root, 'gateway-a');
  const earlier = path.join(root, STATE_DIR, TRASH_DIR, 'gateway-a', 'supervise');
  const supervisor = superviseStandIn(t, earlier);
  fs.renameSync(supervisor.path, path.join(earlier, 'control.old'));
  fs.renameSync(path.join(earlier, 'lock'), path.join(earlier, 'lock.old'));
  const op = removeOf('a');
  const [result] = applyRemoves(dir, [op], offline({ live: true }));
  t.regex(result?.error ?? '', /an earlier removal of this slot is still pending: its supervisor still runs/);
  t.is(fs.readFileSync(path.join(root, 'gateway-a', 'run'), 'utf8'), 'new', 'the slot stays in the scandir');
  t.true(fs.existsSync(path.join(earlier, 'lock.old')), 'the earlier one is not deleted');
});

test('a supervisor that holds no lock (an s6 that locks only while starting) but works in its directory is waited for, never deleted under', (t) => {
  const { root, dir } = tempRoot(t);
  const svscan = listenOnControl(t, path.join(root, '.s6-svscan'));
  put(root, 'gateway-a/run', 'x');
  // A supervisor of such an s6: it reads its control and works in its directory, holding no lock.
  const supervisor = listenOnControl(t, path.join(root, 'gateway-a', 'supervise'));
  put(root, 'gateway-a/supervise/lock', '');
  workerIn(t, path.join(root, 'gateway-a'));
  const options = offline({ live: true });
  const [result] = applyRemoves(dir, [removeOf('a')], options);
  t.is(svscan.received(), 'an');
  t.is(result?.status, 'failed');
  t.regex(result?.error ?? '', /^pending removal: the supervisor of gateway-a still runs/);
  t.is(options.slept(), 1000, 'waited for it, within the budget');
  t.is(supervisor.received(), '', '-an told it, not a -dx');
  t.true(fs.existsSync(path.join(root, STATE_DIR, TRASH_DIR, 'gateway-a', 'supervise', 'control')), 'nothing deleted under it');
});

test('an earlier removal in the trash whose control is only held open (planted, or its supervisor gone) stops no remove of its name', (t) => {
  const { root, dir } = tempRoot(t);
  svscanStandIn(t, root);
  listenOnControl(t, path.join(root, STATE_DIR, TRASH_DIR, 'gateway-a', 'supervise'));
  fs.chmodSync(path.join(root, STATE_DIR), 0o700);
  fs.chmodSync(path.join(root, STATE_DIR, TRASH_DIR), 0o700);
  put(root, 'gateway-a/run', 'new');
  const purge = purgeOf('a', false);
  const remove = removeOf('a');
  const options = offline({ live: true });
  t.deepEqual(applyRemoves(dir, [purge, remove], options), [
    { op: purge, status: 'applied' },
    { op: remove, status: 'applied' },
  ]);
  t.is(options.slept(), 0, 'nothing was waited for');
  t.false(fs.existsSync(path.join(root, 'gateway-a')));
  t.deepEqual(fs.readdirSync(path.join(root, STATE_DIR, TRASH_DIR)), []);
});
