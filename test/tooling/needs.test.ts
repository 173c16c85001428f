/**
 * test/helpers/needs.ts: a missing facility skips visibly outside CI and fails under CI. The
 * declarer is driven with a recording stand-in for ava's `test`, so both paths are exercised in
 * one run whatever this host has.
 */
import test, { type ExecutionContext, type Implementation, type TestFn } from 'ava';
import { type Requirement, ROOT, S6, decide, isCi, needs } from '../helpers/needs.js';
import { hasS6 } from '../helpers/s6.js';

const present: Requirement = { what: 'present', isMet: () => true, howTo: 'nothing' };
const absent: Requirement = { what: 'gizmo', isMet: () => false, howTo: 'apt-get install gizmo' };
const other: Requirement = { what: 'root', isMet: () => false, howTo: 'run as root' };

const decides = test.macro({
  exec(t, requirements: readonly Requirement[], ci: boolean, expected: ReturnType<typeof decide>) {
    t.deepEqual(decide(requirements, ci), expected);
  },
  title: (provided = '') => `decide: ${provided}`,
});

test('everything present runs, in CI or not', decides, [present], false, { kind: 'run' });
test('nothing required runs', decides, [], true, { kind: 'run' });
test('a missing facility outside CI skips and says how to get it', decides, [present, absent], false, {
  kind: 'skip',
  reason: 'gizmo is not available (apt-get install gizmo)',
});
test('a missing facility under CI fails and says how to get it', decides, [absent], true, {
  kind: 'fail',
  reason: 'gizmo is not available (apt-get install gizmo): required under CI',
});
test('every missing facility is named', decides, [absent, other], false, {
  kind: 'skip',
  reason: 'gizmo is not available (apt-get install gizmo); root is not available (run as root)',
});

test('isCi is true for any non-empty CI value', (t) => {
  t.false(isCi({}));
  t.false(isCi({ CI: '' }));
  t.true(isCi({ CI: 'true' }));
  t.true(isCi({ CI: '1' }));
});

test('the s6 and root requirements read the host', (t) => {
  t.is(S6.isMet(), hasS6());
  t.is(ROOT.isMet(), process.getuid?.() === 0);
});

interface Call {
  readonly how: string;
  readonly title: string;
  readonly impl: (t: ExecutionContext<unknown>) => unknown;
}

/** A stand-in for ava's `test` that records declarations instead of making them. */
function recorder(): { readonly fake: TestFn; readonly calls: Call[] } {
  const calls: Call[] = [];
  const record = (how: string) => (title: string, impl: Implementation<[], unknown>) =>
    calls.push({ how, title, impl: impl as (t: ExecutionContext<unknown>) => unknown });
  const serial = Object.assign(record('serial'), { skip: record('serial.skip') });
  const fake = Object.assign(record('test'), { skip: record('skip'), serial });
  return { fake: fake as unknown as TestFn, calls };
}

/** Declares one gated test with env CI set as given, restoring CI afterwards. */
function declareWith(ci: string | undefined, requirement: Requirement, serial = false): Call[] {
  const saved = process.env['CI'];
  const { fake, calls } = recorder();
  try {
    if (ci === undefined) delete process.env['CI'];
    else process.env['CI'] = ci;
    const gated = needs(fake, requirement);
    (serial ? gated.serial : gated)('does a thing', () => undefined);
  } finally {
    if (saved === undefined) delete process.env['CI'];
    else process.env['CI'] = saved;
  }
  return calls;
}

test('a present facility declares the test unchanged', (t) => {
  const calls = declareWith('true', present);
  t.deepEqual(
    calls.map((c) => [c.how, c.title]),
    [['test', 'does a thing']],
  );
});

test('outside CI a missing facility declares a real skip whose title gives the reason', (t) => {
  const calls = declareWith(undefined, absent);
  t.deepEqual(
    calls.map((c) => [c.how, c.title]),
    [['skip', 'does a thing [skipped: gizmo is not available (apt-get install gizmo)]']],
  );
});

test('serial tests keep serial when skipped', (t) => {
  const calls = declareWith(undefined, absent, true);
  t.deepEqual(
    calls.map((c) => c.how),
    ['serial.skip'],
  );
});

test('under CI a missing facility declares a test that fails with the reason', async (t) => {
  const calls = declareWith('true', absent);
  t.deepEqual(
    calls.map((c) => [c.how, c.title]),
    [['test', 'does a thing']],
  );
  const failures: string[] = [];
  const fakeT = { fail: (message: string) => failures.push(message) } as unknown as ExecutionContext<unknown>;
  await calls[0]?.impl(fakeT);
  t.deepEqual(failures, ['gizmo is not available (apt-get install gizmo): required under CI']);
});
