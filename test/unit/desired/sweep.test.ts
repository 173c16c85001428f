import test from 'ava';
import fc from 'fast-check';
import type { LiveStatus, ObservedProfile, ProfileDecision } from '../../../src/model.js';
import { isLiveUp, liveNotice, planCleanup, planSweep } from '../../../src/desired/sweep.js';
import { home, liveUp, observedOf, profile, scandirOf, slotOf, specOf } from '../../helpers/observed.js';

function decision(name: string, action: ProfileDecision['action'] = 'started'): ProfileDecision {
  return { profile: name, service: `gateway-${name}`, priorState: null, autostart: true, action, priorExit: 'unknown' };
}

function withFiles(p: ObservedProfile, files: readonly string[]): ObservedProfile {
  return { ...p, runtimeFiles: files };
}

const DOWN: LiveStatus = { ...liveUp(), up: false, pid: 0 };
const UNSUPERVISED: LiveStatus = { ...liveUp(), supervised: false };

test('isLiveUp: only a supervised service that is up', (t) => {
  t.false(isLiveUp(undefined));
  t.false(isLiveUp(slotOf(specOf('a', true))));
  t.false(isLiveUp(slotOf(specOf('a', true), { live: DOWN })));
  t.false(isLiveUp(slotOf(specOf('a', true), { live: UNSUPERVISED })));
  t.true(isLiveUp(slotOf(specOf('a', true), { live: liveUp() })));
});

test('boot sweeps the stale runtime files of the root and of every profile not skipped', (t) => {
  const h = home({ named: [withFiles(profile('a'), ['gateway.pid', 'processes.json']), withFiles(profile('b'), ['gateway.pid'])] });
  const root = h.profiles[0];
  const observed = observedOf({ ...h, profiles: [withFiles(root ?? profile('default'), ['gateway.pid']), ...h.profiles.slice(1)] });
  t.deepEqual(planSweep(observed, [decision('default'), decision('a'), decision('b', 'skipped')]), [
    { service: 'gateway-default', profile: 'default', dir: '', files: ['gateway.pid'] },
    { service: 'gateway-a', profile: 'a', dir: 'profiles/a', files: ['gateway.pid', 'processes.json'] },
  ]);
});

test('a gateway that is up under a live supervisor keeps its runtime files', (t) => {
  const observed = observedOf(
    home({ named: [withFiles(profile('a'), ['gateway.pid']), withFiles(profile('b'), ['gateway.pid'])] }),
    scandirOf([slotOf(specOf('a', true), { live: liveUp() }), slotOf(specOf('b', true), { live: DOWN })]),
  );
  t.deepEqual(
    planSweep(observed, [decision('a'), decision('b')]).map((s) => s.profile),
    ['b'],
  );
});

test('nothing to sweep without runtime files', (t) => {
  t.deepEqual(planSweep(observedOf(home({ named: [profile('a')] })), [decision('a')]), []);
});

test('every swept profile is a decided, non-skipped one whose gateway is not live (property)', (t) => {
  const names = ['a', 'b', 'c', 'd'];
  fc.assert(
    fc.property(
      fc.subarray(names),
      fc.subarray(names),
      fc.subarray(names),
      fc.constantFrom<ProfileDecision['action']>('started', 'registered', 'pending', 'skipped'),
      (withRuntime, live, decided, action) => {
        const observed = observedOf(
          home({ named: names.map((n) => withFiles(profile(n), withRuntime.includes(n) ? ['gateway.pid'] : [])) }),
          scandirOf(live.map((n) => slotOf(specOf(n, true), { live: liveUp() }))),
        );
        const swept = planSweep(
          observed,
          decided.map((n) => decision(n, action)),
        ).map((s) => s.profile);
        const expected = action === 'skipped' ? [] : decided.filter((n) => withRuntime.includes(n) && !live.includes(n));
        return JSON.stringify(swept) === JSON.stringify(expected);
      },
    ),
  );
  t.pass();
});

test('upstream’s staging leftovers are cleaned up under the service they were meant for', (t) => {
  const observed = observedOf(home(), { ...scandirOf(), upstreamLeftovers: ['.gateway-coder.tmp', '.gateway-a-b.tmp'] });
  t.deepEqual(planCleanup(observed, 'gateway-'), [
    { service: 'gateway-coder', profile: 'coder', entry: '.gateway-coder.tmp' },
    { service: 'gateway-a-b', profile: 'a-b', entry: '.gateway-a-b.tmp' },
  ]);
  t.deepEqual(planCleanup(observedOf(home()), 'gateway-'), []);
});

test('boot warns once when s6 already runs gateways, counting only the up ones', (t) => {
  t.is(liveNotice(observedOf(home(), scandirOf([slotOf(specOf('a', true), { live: DOWN })]))), undefined);
  t.is(
    liveNotice(
      observedOf(
        home(),
        scandirOf([
          slotOf(specOf('a', true), { live: liveUp() }),
          slotOf(specOf('b', true), { live: liveUp() }),
          slotOf(specOf('c', true), { live: DOWN }),
        ]),
      ),
    ),
    's6 already supervises 2 gateway service(s) that are up: boot is the container-start pass and keeps their runtime files; use sync on a running container',
  );
});
