/**
 * diffStates as a whole: create for missing or squatted slots, up/down from the marker, prune,
 * restarts, ordering, and an empty plan for a converged system. Whole plans compared.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { ObservedSlot, Plan, TrashEntry } from '../../../src/model.js';
import { type DiffOptions, diffStates, isRefused, withLiveOps } from '../../../src/diff/index.js';
import { PURGE_REFUSED, REMOVE_WAITS_DENIED } from '../../../src/model/constants.js';
import {
  desiredOf,
  type DesiredOptions,
  fileRead,
  foreignEntry,
  home,
  liveUp,
  observedOf,
  scandirOf,
  slotOf,
  specOf,
} from '../../helpers/observed.js';

const OPTS: DiffOptions = { prune: false, restartChanged: false, expectedUid: 0 };
const EMPTY: Plan = { operations: [], restartPending: [] };

const CODER_UP = specOf('coder', true);
const CODER_DOWN = specOf('coder', false);

test('a missing slot is created', (t) => {
  const plan = diffStates(observedOf(home()), desiredOf([CODER_UP]), OPTS);
  t.deepEqual(plan, {
    operations: [{ kind: 'create', service: 'gateway-coder', profile: 'coder', reason: 'slot missing', spec: CODER_UP }],
    restartPending: [],
  });
});

test('a missing scandir creates every slot', (t) => {
  const o = { home: home(), scandir: { ...scandirOf(), exists: false } };
  t.deepEqual(
    diffStates(o, desiredOf([CODER_DOWN, specOf('default', false)]), OPTS).operations.map((op) => [op.kind, op.service]),
    [
      ['create', 'gateway-coder'],
      ['create', 'gateway-default'],
    ],
  );
});

for (const entry of ['file', 'symlink', 'other'] as const) {
  test(`a foreign ${entry} on the slot path plans a create (that will fail at apply)`, (t) => {
    const plan = diffStates(observedOf(home(), scandirOf([foreignEntry('gateway-coder', 'coder', entry)])), desiredOf([CODER_DOWN]), OPTS);
    t.deepEqual(plan, {
      operations: [
        {
          kind: 'create',
          service: 'gateway-coder',
          profile: 'coder',
          reason: `slot path is ${{ file: 'a file', symlink: 'a symlink', other: 'a FIFO or other special file' }[entry]}, not a directory: move or delete it`,
          spec: CODER_DOWN,
        },
      ],
      restartPending: [],
    });
  });
}

test('intent running with a down marker plans up', (t) => {
  const plan = diffStates(observedOf(home(), scandirOf([slotOf(CODER_UP, { down: true })])), desiredOf([CODER_UP]), OPTS);
  t.deepEqual(plan, {
    operations: [{ kind: 'up', service: 'gateway-coder', profile: 'coder', reason: 'intent is running; down marker present' }],
    restartPending: [],
  });
});

test('diff emits down when desired_state turns stopped', (t) => {
  const plan = diffStates(observedOf(home(), scandirOf([slotOf(CODER_DOWN, { down: false })])), desiredOf([CODER_DOWN]), OPTS);
  t.deepEqual(plan, {
    operations: [{ kind: 'down', service: 'gateway-coder', profile: 'coder', reason: 'intent is not running; down marker missing' }],
    restartPending: [],
  });
});

test('an update and an up on one slot come in that order', (t) => {
  const plan = diffStates(
    observedOf(home(), scandirOf([slotOf(CODER_UP, { down: true, files: { type: fileRead('longrun\n', 0o600) } })])),
    desiredOf([CODER_UP]),
    OPTS,
  );
  t.deepEqual(
    plan.operations.map((o) => o.kind),
    ['update', 'up'],
  );
});

// ---- prune -------------------------------------------------------------------------------------

const OLD = specOf('old', false);

const prune = test.macro({
  exec(t: ExecutionContext, slot: ObservedSlot, opts: DiffOptions, desired: DesiredOptions, removed: boolean) {
    const plan = diffStates(observedOf(home(), scandirOf([slot])), desiredOf([], desired), opts);
    t.deepEqual(
      plan,
      removed
        ? { operations: [{ kind: 'remove', service: 'gateway-old', profile: 'old', reason: 'profile deleted' }], restartPending: [] }
        : EMPTY,
    );
  },
  title: (title = '') => `prune: ${title}`,
});

const PRUNE: DiffOptions = { ...OPTS, prune: true };
test('an owned slot of a gone profile is removed', prune, slotOf(OLD), PRUNE, { gone: ['gateway-old'] }, true);
test('an unowned slot of a gone profile is left alone', prune, slotOf(OLD, { owned: false }), PRUNE, { gone: ['gateway-old'] }, false);
test('nothing is removed with prune off (boot)', prune, slotOf(OLD), OPTS, { gone: ['gateway-old'] }, false);
test(
  'nothing is removed when the empty-set guard blocks',
  prune,
  slotOf(OLD),
  PRUNE,
  { gone: ['gateway-old'], pruneBlocked: 'guard' },
  false,
);
test('a kept slot (not gone) is left alone', prune, slotOf(OLD), PRUNE, { keep: ['gateway-old'] }, false);
test('a foreign file is never removed', prune, foreignEntry('gateway-old', 'old', 'file'), PRUNE, { gone: ['gateway-old'] }, false);

test('prune: a slot whose supervisor this user may not stop is a refused remove, saying who can remove it', (t) => {
  const slot: ObservedSlot = { ...slotOf(OLD), controlDenied: true };
  const [op, ...rest] = diffStates(observedOf(home(), scandirOf([slot])), desiredOf([], { gone: ['gateway-old'] }), PRUNE).operations;
  t.deepEqual(rest, []);
  t.like(op, { kind: 'remove', service: 'gateway-old', refused: true });
  t.regex(op?.reason ?? '', /^profile deleted, not removed: its supervise\/control is not writable to this user.*remove it as root/);
  t.true(op !== undefined && isRefused(op));
});

test('a trashed slot whose supervisor this user may not stop is a refused purge; any other purge is not refused', (t) => {
  const trash: TrashEntry[] = [
    { service: 'gateway-denied', profile: 'denied', supervised: true, stopping: false, controlDenied: true },
    { service: 'gateway-left', profile: 'left', supervised: false, stopping: false },
  ];
  const ops = diffStates(observedOf(home(), { ...scandirOf(), trash }), desiredOf([]), OPTS).operations;
  t.deepEqual(
    ops.map((op) => [op.service, op.kind, isRefused(op)]),
    [
      ['gateway-denied', 'purge', true],
      ['gateway-left', 'purge', false],
    ],
  );
  t.regex(
    ops[0]?.reason ?? '',
    /^removal pending: its supervise\/control is not writable to this user.*not deleted; as root, s6-svc -dx it in the trash/,
  );
  t.is(ops[1]?.reason, 'removal pending: left in the trash');
});

test('prune: a slot whose earlier removal still runs in the trash under its name is a refused remove beside that purge, with the reason', (t) => {
  // The run would refuse to move it into the trash (it would delete the running one): the plan says so.
  const entry = (over: Partial<TrashEntry>): TrashEntry => ({
    service: 'gateway-old',
    profile: 'old',
    supervised: true,
    stopping: false,
    ...over,
  });
  const planned = (trash: TrashEntry[]) =>
    diffStates(observedOf(home(), { ...scandirOf([slotOf(OLD)]), trash }), desiredOf([], { gone: ['gateway-old'] }), PRUNE).operations.map(
      (op) => [op.kind, isRefused(op), op.reason],
    );
  const waits =
    'profile deleted, not removed in this pass: an earlier removal of this slot is still pending in the trash with its supervisor running; its purge stops that one first, then the next pass removes this slot';
  t.deepEqual(planned([entry({})]), [
    ['remove', true, waits],
    ['purge', false, 'removal pending: supervisor still running in the trash'],
  ]);
  t.deepEqual(planned([entry({ stopping: true })])[0], ['remove', true, waits], 'its gateway stopping: still running');
  t.deepEqual(
    planned([entry({ controlDenied: true })]),
    [
      ['remove', true, REMOVE_WAITS_DENIED],
      ['purge', true, PURGE_REFUSED],
    ],
    'a supervisor this user cannot stop: the remove does not promise the purge it cannot do',
  );
  t.deepEqual(
    planned([entry({ supervised: false })]),
    [
      ['remove', false, 'profile deleted'],
      ['purge', false, 'removal pending: left in the trash'],
    ],
    'one no supervisor runs in is deleted first by the remove itself',
  );
  t.deepEqual(
    planned([entry({ service: 'gateway-other', profile: 'other' })]).map(([kind, refused]) => [kind, refused]),
    [
      ['remove', false],
      ['purge', false],
    ],
    'another name is no obstacle',
  );
  t.deepEqual(
    planned([entry({ supervised: false, heldOpen: true })]).map(([kind, refused]) => [kind, refused]),
    [
      ['remove', false],
      ['purge', false],
    ],
    'a control only held open, no supervisor running there: no obstacle',
  );
});

test('a trashed slot whose control only a process that is no supervisor holds open is a plain purge that says so', (t) => {
  const trash: TrashEntry[] = [{ service: 'gateway-held', profile: 'held', supervised: false, stopping: false, heldOpen: true }];
  const [op] = diffStates(observedOf(home(), { ...scandirOf(), trash }), desiredOf([]), OPTS).operations;
  t.like(op, { kind: 'purge', supervised: false });
  t.false(op !== undefined && isRefused(op));
  t.regex(
    op?.reason ?? '',
    /^removal pending: left in the trash \(a process holds its supervise\/control open, but no supervisor runs there/,
  );
});

test('prune: a gone service that is also desired is updated, not removed', (t) => {
  const plan = diffStates(observedOf(home(), scandirOf([slotOf(OLD)])), desiredOf([OLD], { gone: ['gateway-old'] }), PRUNE);
  t.deepEqual(plan, EMPTY);
});

// ---- restarts ----------------------------------------------------------------------------------

const staleRun = fileRead('old\n', 0o755, 0, 1_000_000);
const liveCoder = (over: Partial<Parameters<typeof slotOf>[1]> = {}) =>
  scandirOf([slotOf(CODER_UP, { files: { run: staleRun }, live: liveUp(5000), ...over })], { svscanLive: true });

test('a run change under a live, up service is written and its restart left pending', (t) => {
  const plan = diffStates(observedOf(home(), liveCoder()), desiredOf([CODER_UP]), OPTS);
  t.deepEqual(plan.restartPending, ['gateway-coder']);
  t.like(plan.operations[0], { kind: 'update', reason: 'run write' });
  t.deepEqual(
    plan.operations.map((o) => o.kind),
    ['update'],
  );
  t.is(plan.operations.length, 1);
});

test('with --restart-changed the same change restarts the service and nothing stays pending', (t) => {
  const plan = diffStates(observedOf(home(), liveCoder()), desiredOf([CODER_UP]), { ...OPTS, restartChanged: true });
  t.deepEqual(plan.restartPending, []);
  t.deepEqual(
    plan.operations.map((o) => o.kind),
    ['update', 'restart'],
  );
});

test('a type change (not a run-time file) needs no restart', (t) => {
  const s = scandirOf([slotOf(CODER_UP, { files: { type: fileRead('x\n') }, live: liveUp(5000) })], { svscanLive: true });
  const plan = diffStates(observedOf(home(), s), desiredOf([CODER_UP]), OPTS);
  t.deepEqual(plan.restartPending, []);
  t.deepEqual(
    plan.operations.map((o) => o.kind),
    ['update'],
  );
});

test('a run change under a down service needs no restart', (t) => {
  const s = liveCoder({ live: { ...liveUp(5000), up: false, pid: -1 } });
  t.deepEqual(diffStates(observedOf(home(), s), desiredOf([CODER_UP]), OPTS).restartPending, []);
});

test('a process older than its run file is reported pending with no operation', (t) => {
  const newer = fileRead(CODER_UP.files[1]?.content ?? '', 0o755, 0, 6_000_000);
  const s = liveCoder({ files: { run: newer }, live: liveUp(5000) });
  t.deepEqual(diffStates(observedOf(home(), s), desiredOf([CODER_UP]), OPTS), { operations: [], restartPending: ['gateway-coder'] });
});

test('a journalled restart of a service running older files is done even without --restart-changed', (t) => {
  const newer = fileRead(CODER_UP.files[1]?.content ?? '', 0o755, 0, 6_000_000);
  const s = scandirOf([slotOf(CODER_UP, { files: { run: newer }, live: liveUp(5000) })], {
    svscanLive: true,
    pendingRestarts: ['gateway-coder'],
  });
  t.deepEqual(diffStates(observedOf(home(), s), desiredOf([CODER_UP]), OPTS), {
    operations: [
      { kind: 'restart', service: 'gateway-coder', profile: 'coder', reason: 'restart decided by an interrupted pass (journal)' },
    ],
    restartPending: [],
  });
});

test('a journal entry for a service running its current files restarts nothing (a forged journal is inert)', (t) => {
  const s = scandirOf([slotOf(CODER_UP, { live: liveUp(5000) })], { svscanLive: true, pendingRestarts: ['gateway-coder'] });
  t.deepEqual(diffStates(observedOf(home(), s), desiredOf([CODER_UP]), OPTS), EMPTY);
});

test('a run file with an mtime in the future never makes a restart pending', (t) => {
  const future = fileRead(CODER_UP.files[1]?.content ?? '', 0o755, 0, 9_000_000);
  const s = liveCoder({ files: { run: future }, live: liveUp(5000) });
  t.deepEqual(diffStates(observedOf(home(), s), desiredOf([CODER_UP]), { ...OPTS, nowMs: 7_000_000 }), EMPTY);
  t.deepEqual(diffStates(observedOf(home(), s), desiredOf([CODER_UP]), { ...OPTS, nowMs: 7_000_000, restartChanged: true }), EMPTY);
});

test('a persisted restart of a service that is not up is dropped', (t) => {
  const s = scandirOf([slotOf(CODER_UP)], { pendingRestarts: ['gateway-coder'] });
  t.deepEqual(diffStates(observedOf(home(), s), desiredOf([CODER_UP]), OPTS), EMPTY);
});

// ---- order and convergence ---------------------------------------------------------------------

test('the plan is sorted by service, then create < update < up < down < remove', (t) => {
  const b = specOf('b', true);
  const d = specOf('d', false);
  const slots = [
    slotOf(specOf('e', false)),
    slotOf(d, { down: false, files: { run: fileRead('x') } }),
    slotOf(b, { down: true, files: { finish: fileRead('x') } }),
    slotOf(specOf('c', false)),
  ];
  const desired = desiredOf([d, specOf('c', false), b, specOf('a', true)], { gone: ['gateway-e'] });
  const plan = diffStates(observedOf(home(), scandirOf(slots)), desired, { ...OPTS, prune: true });
  t.deepEqual(
    plan.operations.map((o) => `${o.service}:${o.kind}`),
    ['gateway-a:create', 'gateway-b:update', 'gateway-b:up', 'gateway-d:update', 'gateway-d:down', 'gateway-e:remove'],
  );
});

const converged = test.macro({
  exec(t: ExecutionContext, slots: readonly ObservedSlot[], opts: DiffOptions) {
    const specs = slots.map((s) => specOf(s.profile, !s.hasDownMarker));
    t.deepEqual(diffStates(observedOf(home(), scandirOf(slots)), desiredOf(specs), opts), EMPTY);
  },
  title: (title = '') => `a converged system plans nothing: ${title}`,
});

test('one slot up', converged, [slotOf(CODER_UP)], OPTS);
test('one slot down', converged, [slotOf(CODER_DOWN)], OPTS);
test(
  'many slots, prune and restart-changed on',
  converged,
  ['default', 'a', 'b', 'z'].map((n, i) => slotOf(specOf(n, i % 2 === 0))),
  { prune: true, restartChanged: true, expectedUid: 0 },
);
test('hermes-owned files when not running as root', converged, [slotOf(CODER_UP, { uid: 10000 })], { ...OPTS, expectedUid: null });
test('a live, up service started after its files', converged, [slotOf(CODER_UP, { live: liveUp(5000) })], {
  ...OPTS,
  restartChanged: true,
});

test('withLiveOps: a heal expects the slot as the plan leaves it (chowned when adopted), in plan order', (t) => {
  const identity = { dev: 1, ino: 2, uid: 10000 };
  const adopted = { ...slotOf(CODER_UP, { uid: 10000, owned: false }), identity };
  const plan = diffStates(observedOf(home(), scandirOf([adopted])), desiredOf([CODER_UP]), OPTS);
  const heal = { kind: 'heal' as const, service: CODER_UP.service, profile: 'coder', reason: 'held down', expect: identity };
  const merged = withLiveOps(plan, [heal], OPTS.expectedUid);
  t.deepEqual(
    merged.operations.map((op) => [op.kind, 'expect' in op ? op.expect : undefined]),
    [
      ['update', identity],
      ['heal', { ...identity, uid: 0 }],
    ],
  );
  const asUser = withLiveOps(EMPTY, [heal], null);
  t.deepEqual(asUser.operations, [heal], 'nothing chowns: the heal expects what observe saw');
});
