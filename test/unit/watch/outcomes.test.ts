/**
 * src/watch/outcomes.ts: what one pass meant for each service, the watcher's Ready / Pending /
 * Failed and the reason `status` shows. Passes run for real (planPass + applyPass) over temp
 * trees; only what needs a live s6 (its view of a slot, a pending restart, drift) is set on the
 * observed state of such a pass.
 */
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DEFAULT_SETTINGS } from '../../../src/cli/config.js';
import type { LiveStatus, Operation, Settings } from '../../../src/model.js';
import { OWNERSHIP_FILE, REMOVE_REFUSED, REMOVE_WAITS } from '../../../src/model/constants.js';
import { type PassOptions, type PassResult, type TestSeams, applyPass, planPass } from '../../../src/reconcile.js';
import { closeDir, openRoot } from '../../../src/safe-fs/index.js';
import { STATE_DIR, TRASH_DIR } from '../../../src/state-dir/index.js';
import { type Outcome, liveStateOf, passOutcomes } from '../../../src/watch/outcomes.js';
import { liveUp } from '../../helpers/observed.js';
import { passResultOf } from '../../helpers/pass-result.js';
import { tempRoot } from '../support.js';

const SETTINGS: Settings = { ...DEFAULT_SETTINGS, uid: 65534, gid: 65534 };

/** A HERMES_HOME and a scandir under one temp root. */
interface Trees {
  readonly home: string;
  readonly scan: string;
  /** Writes profile `name` (SOUL.md) with a state file holding `state` (raw text), if given. */
  profile(name: string, state?: string): void;
  /** Runs one pass (sync, pruning, unless told otherwise) and returns what it saw and did. */
  pass(over?: Partial<PassOptions>, seams?: TestSeams): Promise<PassResult>;
}

function trees(t: ExecutionContext): Trees {
  const { root } = tempRoot(t);
  const home = path.join(root, 'home');
  const scan = path.join(root, 'scan');
  fs.mkdirSync(path.join(home, 'profiles'), { recursive: true });
  fs.mkdirSync(scan);
  return {
    home,
    scan,
    profile(name, state) {
      const dir = path.join(home, 'profiles', name);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'SOUL.md'), 'soul\n');
      if (state !== undefined) fs.writeFileSync(path.join(dir, 'gateway_state.json'), state);
    },
    async pass(over = {}, seams = {}) {
      const homeDir = openRoot(home);
      const scanDir = openRoot(scan);
      try {
        const o: PassOptions = {
          mode: 'sync',
          home: homeDir,
          scandir: scanDir,
          hermesHome: home,
          settings: SETTINGS,
          host: { argv: [], env: {}, config: { kind: 'missing' }, nowMs: Date.now() },
          prune: true,
          allowEmpty: false,
          restartChanged: false,
          isRoot: process.geteuid?.() === 0,
          ...over,
        };
        return await applyPass(planPass(o), seams);
      } finally {
        closeDir(scanDir);
        closeDir(homeDir);
      }
    },
  };
}

const RUNNING = JSON.stringify({ desired_state: 'running' });
const STOPPED = JSON.stringify({ desired_state: 'stopped' });

/** The outcome of `service`, failing the test when the pass reported none. */
function outcomeOf(result: PassResult, service: string): Outcome {
  const o = passOutcomes(result).find((x) => x.service === service);
  if (o === undefined) throw new Error(`no outcome for ${service}`);
  return o;
}

test("liveStateOf names s6's view of a slot in one word", (t) => {
  const up = liveUp();
  t.is(liveStateOf(up), 'up');
  t.is(liveStateOf({ ...up, up: false, pid: -1 }), 'down');
  t.is(liveStateOf({ ...up, up: false, pid: -1, finishing: true }), 'finishing');
  t.is(liveStateOf({ ...up, supervised: false }), 'unsupervised');
  t.is(liveStateOf({ ...up, supervised: false, up: false, finishing: true }), 'unsupervised', 'a stale status file is no live state');
});

test('every service the pass decided is ready with its intent, sorted by name', async (t) => {
  const w = trees(t);
  w.profile('b', STOPPED);
  w.profile('a', RUNNING);
  const outcomes = passOutcomes(await w.pass());
  t.deepEqual(outcomes, [
    { service: 'gateway-a', profile: 'a', restartPending: false, drift: [], autostart: true, kind: 'ready' },
    { service: 'gateway-b', profile: 'b', restartPending: false, drift: [], autostart: false, kind: 'ready' },
    { service: 'gateway-default', profile: 'default', restartPending: false, drift: [], autostart: false, kind: 'ready' },
  ]);
});

test('a service whose operation failed is failed, with the error and its intent', async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  w.profile('b', RUNNING);
  const result = await w.pass(
    {},
    {
      beforeOperation: (op) => {
        if (op.service === 'gateway-a') throw new Error('ENOSPC: no space left on device');
      },
    },
  );
  t.deepEqual(outcomeOf(result, 'gateway-a'), {
    service: 'gateway-a',
    profile: 'a',
    restartPending: false,
    drift: [],
    autostart: true,
    kind: 'failed',
    reason: 'unexpected error: ENOSPC: no space left on device',
  });
  t.is(outcomeOf(result, 'gateway-b').kind, 'ready', 'the failure is that service alone');
});

test('a slot refused adoption is failed by a refusal (no back-off), labelled with what it would do once adopted', async (t) => {
  const w = trees(t);
  w.profile('z', STOPPED);
  fs.mkdirSync(path.join(w.scan, 'gateway-z'));
  fs.writeFileSync(path.join(w.scan, 'gateway-z', 'data'), 'theirs');
  const result = await w.pass();
  t.like(outcomeOf(result, 'gateway-z'), { kind: 'failed', refused: true, autostart: false });
  t.regex(outcomeOf(result, 'gateway-z').reason ?? '', /^not adopted: gateway-z holds data/);
  w.profile('z', RUNNING);
  t.like(outcomeOf(await w.pass(), 'gateway-z'), { kind: 'failed', refused: true, autostart: true }, 'the intent, not unknown');
  // Multiplexing: a named slot stays down, adopted or not.
  const multiplexed = await w.pass({ host: { argv: [], env: { multiplex: '1' }, config: { kind: 'missing' }, nowMs: Date.now() } });
  t.like(outcomeOf(multiplexed, 'gateway-z'), { kind: 'failed', refused: true, autostart: false }, 'what it would do once adopted');
});

test('a service held back after failures is held, naming the operation it did not apply', async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  const result = await w.pass({ hold: new Set(['gateway-a']) });
  t.false(fs.existsSync(path.join(w.scan, 'gateway-a')));
  t.like(outcomeOf(result, 'gateway-a'), { kind: 'held', reason: 'create held back after failures', autostart: true });
});

test('a slot the pass removed because its profile was deleted is gone', async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  w.profile('b', RUNNING);
  await w.pass();
  fs.rmSync(path.join(w.home, 'profiles', 'b'), { recursive: true });
  const result = await w.pass();
  t.false(fs.existsSync(path.join(w.scan, 'gateway-b')));
  t.deepEqual(outcomeOf(result, 'gateway-b'), { service: 'gateway-b', profile: 'b', restartPending: false, drift: [], kind: 'gone' });
});

test("a deleted profile's slot left in place is pending, saying why it stays", async (t) => {
  const w = trees(t);
  for (const p of ['a', 'b', 'c']) w.profile(p, RUNNING);
  await w.pass();
  fs.rmSync(path.join(w.scan, 'gateway-c', OWNERSHIP_FILE));
  for (const p of ['b', 'c']) fs.rmSync(path.join(w.home, 'profiles', p), { recursive: true });
  const pruning = await w.pass();
  t.like(outcomeOf(pruning, 'gateway-c'), { kind: 'pending', reason: 'profile deleted; slot not created by this tool, left in place' });
  t.is(outcomeOf(pruning, 'gateway-b').kind, 'gone');

  w.profile('b', RUNNING);
  await w.pass();
  fs.rmSync(path.join(w.home, 'profiles', 'b'), { recursive: true });
  const notPruning = await w.pass({ prune: false });
  t.true(fs.existsSync(path.join(w.scan, 'gateway-b')));
  t.like(outcomeOf(notPruning, 'gateway-b'), { kind: 'pending', reason: 'profile deleted; pruning is off' });
});

test('slots kept by the empty-set guard are pending, saying the guard blocks their removal', async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  await w.pass();
  fs.rmSync(path.join(w.home, 'profiles', 'a'), { recursive: true });
  const result = await w.pass();
  t.true(fs.existsSync(path.join(w.scan, 'gateway-a')));
  t.like(outcomeOf(result, 'gateway-a'), { kind: 'pending', reason: 'profile deleted; removal blocked by the empty-set guard' });
});

test('a slot whose profile directory lost its SOUL.md is pending: no usable profile, left as it is', async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  w.profile('b', RUNNING);
  await w.pass();
  fs.rmSync(path.join(w.home, 'profiles', 'a', 'SOUL.md'));
  const result = await w.pass();
  t.deepEqual(outcomeOf(result, 'gateway-a'), {
    service: 'gateway-a',
    profile: 'a',
    restartPending: false,
    drift: [],
    kind: 'pending',
    reason: 'no usable profile for this slot; left as it is',
  });
});

test('a slot whose intent cannot be read is pending with the reason, and claims no intent', async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  await w.pass();
  w.profile('a', '{"desired_state": "runn');
  const o = outcomeOf(await w.pass(), 'gateway-a');
  t.is(o.kind, 'pending');
  t.regex(o.reason ?? '', /^state file unreadable: invalid JSON.*; slot kept up or down as it is$/);
  t.false('autostart' in o);
});

test('a slot purged from the trash is gone', async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  await w.pass();
  fs.mkdirSync(path.join(w.scan, STATE_DIR, TRASH_DIR, 'gateway-t', 'log'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(w.scan, STATE_DIR, TRASH_DIR), 0o700);
  const result = await w.pass();
  t.deepEqual(fs.readdirSync(path.join(w.scan, STATE_DIR, TRASH_DIR)), []);
  t.deepEqual(outcomeOf(result, 'gateway-t'), { service: 'gateway-t', profile: 't', restartPending: false, drift: [], kind: 'gone' });
});

test('a purge that fails in the trash is not the failure of a slot of the same name in the scandir (its profile came back)', async (t) => {
  const w = trees(t);
  w.profile('omega', RUNNING);
  await w.pass();
  fs.mkdirSync(path.join(w.scan, STATE_DIR, TRASH_DIR, 'gateway-omega'), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.join(w.scan, STATE_DIR, TRASH_DIR), 0o700);
  const result = await w.pass(
    {},
    {
      beforeOperation: (op) => {
        if (op.kind === 'purge') throw new Error('EIO: i/o error');
      },
    },
  );
  t.true(
    result.results.some((r) => r.op.kind === 'purge' && r.status === 'failed'),
    'the purge failed',
  );
  t.is(outcomeOf(result, 'gateway-omega').kind, 'ready', 'the slot in the scandir is fine');
  // Tombstoned (its directory still there, no slot): the purge's failure is the service's again.
  fs.mkdirSync(path.join(w.home, 'profiles', '.deleted'), { recursive: true });
  fs.writeFileSync(path.join(w.home, 'profiles', '.deleted', 'omega'), '');
  const future = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(w.home, 'profiles', '.deleted', 'omega'), future, future);
  await w.pass(); // removes the slot (into the trash, then deletes it)
  fs.mkdirSync(path.join(w.scan, STATE_DIR, TRASH_DIR, 'gateway-omega'), { recursive: true, mode: 0o700 });
  const failing = await w.pass(
    {},
    {
      beforeOperation: (op) => {
        if (op.kind === 'purge') throw new Error('EIO: i/o error');
      },
    },
  );
  t.like(outcomeOf(failing, 'gateway-omega'), { kind: 'failed' });
});

test("an outcome carries s6's view of the slot, a pending restart and the slot's drift", async (t) => {
  const w = trees(t);
  w.profile('a', RUNNING);
  w.profile('b', RUNNING);
  await w.pass();
  const seen = await w.pass();
  // What a live s6 would have added to this pass: gateway-a down and crash-looping, a restart pending.
  const down: LiveStatus = { ...liveUp(), up: false, pid: -1, exitcode: 3 };
  const slots = new Map(seen.observed.scandir.slots);
  const slotA = slots.get('gateway-a');
  if (slotA === undefined) throw new Error('no slot gateway-a');
  slots.set('gateway-a', { ...slotA, live: down });
  const drift = { type: 'CrashLooping' as const, service: 'gateway-a', profile: 'a', sinceUnix: 1000, evidence: { restarts: 6 } };
  const result: PassResult = {
    ...seen,
    observed: { ...seen.observed, scandir: { ...seen.observed.scandir, slots } },
    plan: { ...seen.plan, restartPending: ['gateway-a'] },
    drift: [drift],
  };
  t.deepEqual(outcomeOf(result, 'gateway-a'), {
    service: 'gateway-a',
    profile: 'a',
    restartPending: true,
    drift: [drift],
    live: 'down',
    autostart: true,
    kind: 'ready',
  });
  t.like(outcomeOf(result, 'gateway-b'), { restartPending: false, drift: [] });
  t.false('live' in outcomeOf(result, 'gateway-b'), 'a slot s6 never supervised has no live state');
});

test('a remove refused while its trash twin is stopped is a failure with back-off, retried soon; other refusals wait for a pass', (t) => {
  const remove = (reason: string): Operation => ({ kind: 'remove', service: 'gateway-old', profile: 'old', reason, refused: true });
  const outcomeFor = (reason: string): Outcome | undefined => {
    const op = remove(reason);
    const result = passResultOf({ plan: { operations: [op], restartPending: [] }, results: [{ op, status: 'failed', error: reason }] });
    return passOutcomes(result).find((o) => o.service === 'gateway-old');
  };
  const waits = outcomeFor(REMOVE_WAITS);
  t.like(waits, { kind: 'failed' });
  t.is(waits?.refused, undefined, 'no file event announces its end: a back-off retries it');
  t.like(outcomeFor(REMOVE_REFUSED), { kind: 'failed', refused: true });
});
