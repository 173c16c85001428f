/**
 * Properties of the pure core (fast-check): for random observed states, applying the plan and
 * observing again yields an empty plan; plans are deterministic and sorted. And one real-fs
 * property through the CLI: a second boot over a random HERMES_HOME changes nothing.
 */
import test from 'ava';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ObservedState, Operation, Plan } from '../../../src/model.js';
import { buildDesired } from '../../../src/desired/index.js';
import { compareOps, diffStates, isRefused } from '../../../src/diff/index.js';
import { planPickups } from '../../../src/desired/drift.js';
import { SVSCAN_DEFAULT_MAX } from '../../../src/reconcile.js';
import { knobsArb, observedArb } from '../../helpers/arbitraries.js';
import { simulateApply } from '../../helpers/simulate.js';
import { bootJson, sandbox } from '../../helpers/cli.js';
import { diffSnapshots, snapshotTree } from '../../helpers/tree.js';

function reversed(o: ObservedState): ObservedState {
  return { ...o, scandir: { ...o.scandir, slots: new Map([...o.scandir.slots].reverse()) } };
}

/**
 * The order a pass's operations of one service must come in, written out here rather than read
 * from diff (a copy of diff's own comparator could not catch a wrong order there).
 */
const ORDER: readonly Operation['kind'][] = [
  'seed',
  'cleanup',
  'sweep',
  'create',
  'update',
  'restart',
  'up',
  'down',
  'remove',
  'purge',
  'heal',
  'pickup',
];

/** Sorted by service, then in ORDER, with no kind twice for one service (and diff's comparator agrees). */
function assertSorted(plan: Plan): void {
  for (let i = 1; i < plan.operations.length; i += 1) {
    const a = plan.operations[i - 1] as Operation;
    const b = plan.operations[i] as Operation;
    const ok = a.service < b.service || (a.service === b.service && ORDER.indexOf(a.kind) < ORDER.indexOf(b.kind));
    assert.ok(ok, `operations ${i - 1} (${a.kind} ${a.service}) and ${i} (${b.kind} ${b.service}) out of order`);
    assert.ok(compareOps(a, b) < 0, `diff's comparator disagrees at ${i}`);
  }
  assert.deepEqual(plan.restartPending, [...new Set(plan.restartPending)].sort());
}

test('applying the plan to a random observed state and diffing again yields an empty plan', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(observedArb, knobsArb, (observed, knobs) => {
        const desired = buildDesired({ observed, ...knobs.input });
        const plan = diffStates(observed, desired, knobs.diff);
        const host = { uid: knobs.diff.expectedUid ?? 1000, nowMs: 100_000_000 };
        const { state, failed, failedOps } = simulateApply(observed, plan.operations, host);
        for (const op of failedOps) {
          const service = op.service;
          const slot = observed.scandir.slots.get(service);
          // Only what the real appliers refuse may fail: a foreign entry, a `log` that is a file, or
          // what the plan itself says will fail (a refused operation): the removal of a slot or
          // purge of a trash entry whose supervisor this user may not stop, or the removal of a
          // slot whose earlier removal still has a supervisor in the trash (the pass's purge stops
          // that one, and the next pass removes the slot). The plan is the whole truth: `--diff`
          // shows each of these as refused.
          assert.ok(
            (slot !== undefined && (slot.entry !== 'dir' || slot.logDir.kind === 'refused')) || isRefused(op),
            `${op.kind} ${service} failed, but was not planned refused`,
          );
        }
        for (const op of plan.operations.filter(isRefused)) assert.ok(failed.has(op.service), `refused ${op.kind} ${op.service} applied`);
        const left = (p: Plan): Operation[] => p.operations.filter((op) => !failed.has(op.service));
        assert.deepEqual(left(diffStates(state, desired, knobs.diff)), [], 'same desired state');
        const kept = (state.scandir.trash ?? []).filter((e) => e.controlDenied !== true);
        assert.deepEqual(kept, [], 'the trash keeps only removals this user may not finish');
        const next = buildDesired({ observed: state, ...knobs.input });
        assert.deepEqual(left(diffStates(state, next, knobs.diff)), [], 'desired state rebuilt from the new observation');
      }),
      { numRuns: 600 },
    ),
  );
});

test('a sync plan with its pickups, applied with the rescan it sends, leaves no slot of ours unsupervised and nothing to pick up', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(observedArb, knobsArb, (observed, knobs) => {
        const input = { ...knobs.input, mode: 'sync' as const };
        const desired = buildDesired({ observed, ...input });
        const diffed = diffStates(observed, desired, knobs.diff);
        const pickups = planPickups({ observed, desired, plan: diffed, maxServices: SVSCAN_DEFAULT_MAX, rescanned: new Set() });
        const host = { uid: knobs.diff.expectedUid ?? 1000, nowMs: 100_000_000 };
        const { state, failed } = simulateApply(observed, [...diffed.operations, ...pickups], host, { rescan: true });
        const next = buildDesired({ observed: state, ...input });
        const again = diffStates(state, next, knobs.diff);
        const left = planPickups({
          observed: state,
          desired: next,
          plan: again,
          maxServices: SVSCAN_DEFAULT_MAX,
          rescanned: new Set(),
        }).filter((op) => !failed.has(op.service));
        assert.deepEqual(left, [], 'a second pass picks nothing up');
      }),
      { numRuns: 400 },
    ),
  );
});

test('the plan of a converged state stays empty when applied again (apply twice equals apply once)', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(observedArb, knobsArb, (observed, knobs) => {
        const desired = buildDesired({ observed, ...knobs.input });
        const host = { uid: knobs.diff.expectedUid ?? 1000, nowMs: 100_000_000 };
        const plan = (s: ObservedState): Plan => diffStates(s, desired, knobs.diff);
        const first = simulateApply(observed, plan(observed).operations, host);
        const once = first.state;
        const twice = simulateApply(once, plan(once).operations, host).state;
        // The one removal that takes two passes: its slot waited for an earlier removal of its name
        // whose supervisor ran in the trash, which this pass's purge stopped (a denied one stays).
        const waited = new Set(
          (observed.scandir.trash ?? [])
            .filter((e) => e.supervised && e.controlDenied !== true && first.failed.has(e.service))
            .map((e) => e.service),
        );
        const settled = (p: Plan): Plan => ({ ...p, operations: p.operations.filter((op) => !waited.has(op.service)) });
        assert.deepEqual(settled(plan(twice)), settled(plan(once)));
        // and it is done then: a third application changes nothing the second did not
        if (waited.size > 0) assert.deepEqual(plan(simulateApply(twice, plan(twice).operations, host).state), plan(twice));
      }),
      { numRuns: 300 },
    ),
  );
});

test('diff is deterministic, independent of map order, and sorted', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(observedArb, knobsArb, (observed, knobs) => {
        const desired = buildDesired({ observed, ...knobs.input });
        const plan = diffStates(observed, desired, knobs.diff);
        assert.deepEqual(diffStates(observed, desired, knobs.diff), plan);
        const shuffled = { ...desired, services: new Map([...desired.services].reverse()), gone: new Set([...desired.gone].reverse()) };
        assert.deepEqual(diffStates(reversed(observed), shuffled, knobs.diff), plan);
        assertSorted(plan);
      }),
      { numRuns: 600 },
    ),
  );
});

test('buildDesired is deterministic and independent of the order profiles were listed in', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(observedArb, knobsArb, (observed, knobs) => {
        const [root, ...named] = observed.home.profiles;
        const swapped = { ...reversed(observed), home: { ...observed.home, profiles: [...(root ? [root] : []), ...named.reverse()] } };
        const one = buildDesired({ observed, ...knobs.input });
        const two = buildDesired({ observed: swapped, ...knobs.input });
        assert.deepEqual(two.decisions, one.decisions);
        assert.deepEqual([...two.services], [...one.services]);
        assert.deepEqual([...two.gone].sort(), [...one.gone].sort());
        assert.deepEqual([...two.keep].sort(), [...one.keep].sort());
        assert.equal(one.decisions[0]?.profile, 'default', 'the root comes first');
      }),
      { numRuns: 400 },
    ),
  );
});

// ---- real file system ---------------------------------------------------------------------------

const STATE_TEXTS: readonly (string | Buffer)[] = [
  '{"gateway_state":"running"}',
  '{"desired_state":"stopped","gateway_state":"running"}',
  '\uFEFF{"gateway_state":"draining"}',
  '{"desired_state":1,"gateway_state":"degraded"}',
  '{ broken',
  '',
  '[]',
  Buffer.from([0x7b, 0xff, 0x7d]),
];

const diskProfileArb = fc.record({
  name: fc.constantFrom('coder', 'a', 'z-9', 'w_x', '0', 'Bad', 'my.profile', 'default'),
  soul: fc.constantFrom(true, true, true, false),
  state: fc.option(fc.constantFrom(...STATE_TEXTS), { nil: undefined }),
  pid: fc.boolean(),
  tombstone: fc.constantFrom('none', 'none', 'older', 'newer'),
});

const diskSlotArb = fc.record({
  name: fc.constantFrom('coder', 'a', 'old', 'default'),
  staleRun: fc.boolean(),
  down: fc.boolean(),
});

const diskArb = fc.record({
  root: fc.option(fc.constantFrom(...STATE_TEXTS), { nil: undefined }),
  profiles: fc.uniqueArray(diskProfileArb, { selector: (p) => p.name, maxLength: 5 }),
  slots: fc.uniqueArray(diskSlotArb, { selector: (s) => s.name, maxLength: 3 }),
});

type Disk = typeof diskArb extends fc.Arbitrary<infer T> ? T : never;

async function writeDisk(home: string, scandir: string, disk: Disk): Promise<void> {
  if (disk.root !== undefined) await writeFile(path.join(home, 'gateway_state.json'), disk.root);
  await mkdir(path.join(home, 'profiles', '.deleted'), { recursive: true });
  for (const p of disk.profiles) {
    const dir = path.join(home, 'profiles', p.name);
    await mkdir(dir);
    if (p.soul) {
      await writeFile(path.join(dir, 'SOUL.md'), 'soul\n');
      await utimes(path.join(dir, 'SOUL.md'), 2_000_000, 2_000_000);
    }
    if (p.state !== undefined) await writeFile(path.join(dir, 'gateway_state.json'), p.state);
    if (p.pid) await writeFile(path.join(dir, 'gateway.pid'), '123\n');
    if (p.tombstone !== 'none') {
      const tomb = path.join(home, 'profiles', '.deleted', p.name);
      await writeFile(tomb, '');
      const at = p.tombstone === 'older' ? 1_000_000 : 3_000_000;
      await utimes(tomb, at, at);
    }
  }
  for (const s of disk.slots) {
    const dir = path.join(scandir, `gateway-${s.name}`);
    await mkdir(path.join(dir, 'log'), { recursive: true });
    await writeFile(path.join(dir, 'type'), 'longrun\n');
    await writeFile(path.join(dir, 'run'), s.staleRun ? '#!/bin/sh\nexec old\n' : '#!/bin/sh\n', { mode: 0o644 });
    if (s.down) await writeFile(path.join(dir, 'down'), '');
  }
}

test('a second boot over a random HERMES_HOME plans nothing and changes nothing in the scandir', async (t) => {
  await fc.assert(
    fc.asyncProperty(diskArb, async (disk) => {
      const box = await sandbox();
      try {
        await writeDisk(box.home, box.scandir, disk);
        const first = await bootJson(box.home, box.scandir);
        assert.equal(first.code, 0, first.stderr);
        const before = await snapshotTree(box.scandir);
        const second = await bootJson(box.home, box.scandir);
        assert.equal(second.code, 0, second.stderr);
        assert.deepEqual(second.doc['operations'], []);
        assert.deepEqual(diffSnapshots(before, await snapshotTree(box.scandir)), []);
      } finally {
        await box.cleanup();
      }
    }),
    { numRuns: 20 },
  );
  t.pass();
});
