import test from 'ava';
import fc from 'fast-check';
import type { DesiredState, Operation } from '../../../src/model.js';
import { planHousekeeping } from '../../../src/diff/housekeeping.js';
import { desiredOf } from '../../helpers/observed.js';

function desired(over: Partial<DesiredState>): DesiredState {
  return { ...desiredOf([]), ...over };
}

const SEED = {
  service: 'gateway-default',
  path: '/opt/data/gateway_state.json',
  content: '{"gateway_state":"running"}\n',
  reason: 'first boot',
};

test('nothing asked for, nothing planned', (t) => {
  t.deepEqual(planHousekeeping(desiredOf([])), []);
});

test('the seed, sweeps and cleanups become operations, seed first', (t) => {
  const ops = planHousekeeping(
    desired({
      seed: SEED,
      sweep: [{ service: 'gateway-a', profile: 'a', dir: 'profiles/a', files: ['gateway.pid'] }],
      cleanup: [{ service: 'gateway-b', profile: 'b', entry: '.gateway-b.tmp' }],
    }),
  );
  t.deepEqual(ops, [
    {
      kind: 'seed',
      service: 'gateway-default',
      profile: 'default',
      reason: 'first boot',
      path: 'gateway_state.json',
      content: SEED.content,
    },
    {
      kind: 'sweep',
      service: 'gateway-a',
      profile: 'a',
      reason: 'stale runtime files of the previous container',
      dir: 'profiles/a',
      files: ['gateway.pid'],
    },
    { kind: 'cleanup', service: 'gateway-b', profile: 'b', reason: 'upstream staging leftover', entry: '.gateway-b.tmp' },
  ] satisfies Operation[]);
});

test('the seed writes the state file relative to HERMES_HOME, never the absolute path desired reports', (t) => {
  const [seed] = planHousekeeping(desired({ seed: { ...SEED, path: '/elsewhere/gateway_state.json' } }));
  t.is(seed?.kind === 'seed' ? seed.path : undefined, 'gateway_state.json');
});

test('one operation per sweep and cleanup, in the order desired lists them (property)', (t) => {
  const name = fc.constantFrom('a', 'b', 'c', 'z-9');
  fc.assert(
    fc.property(
      fc.array(fc.record({ profile: name, files: fc.subarray(['gateway.pid', 'processes.json'], { minLength: 1 }) })),
      fc.array(name),
      fc.boolean(),
      (sweeps, cleanups, seeded) => {
        const ops = planHousekeeping(
          desired({
            ...(seeded ? { seed: SEED } : {}),
            sweep: sweeps.map((s) => ({
              service: `gateway-${s.profile}`,
              profile: s.profile,
              dir: `profiles/${s.profile}`,
              files: s.files,
            })),
            cleanup: cleanups.map((p) => ({ service: `gateway-${p}`, profile: p, entry: `.gateway-${p}.tmp` })),
          }),
        );
        const kinds = ops.map((o) => o.kind).join(',');
        const expected = [...(seeded ? ['seed'] : []), ...sweeps.map(() => 'sweep'), ...cleanups.map(() => 'cleanup')].join(',');
        const profiles = ops.filter((o) => o.kind !== 'seed').map((o) => o.profile);
        return kinds === expected && JSON.stringify(profiles) === JSON.stringify([...sweeps.map((s) => s.profile), ...cleanups]);
      },
    ),
  );
  t.pass();
});
