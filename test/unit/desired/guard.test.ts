/**
 * The empty-set guard (sync): an unmounted or broken volume looks like "every profile was
 * deleted", so pruning is blocked unless the deletions are evidenced or --allow-empty is given.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { ObservedState } from '../../../src/model.js';
import { type DesiredInput, buildDesired } from '../../../src/desired/index.js';
import { home, inputOf, observedOf, profile, scandirOf, slotOf, specOf } from '../../helpers/observed.js';

const owned = (...names: string[]) => scandirOf(names.map((n) => slotOf(specOf(n, false))));

const guarded = test.macro({
  exec(t: ExecutionContext, o: ObservedState, over: Partial<Omit<DesiredInput, 'observed'>>, blocked: RegExp | undefined) {
    const desired = buildDesired(inputOf(o, { mode: 'sync', ...over }));
    if (blocked === undefined) {
      t.is(desired.pruneBlocked, undefined);
      t.false(desired.notices.some((n) => n.message.includes('removing nothing')));
    } else {
      t.regex(desired.pruneBlocked ?? '', blocked);
      t.true(desired.notices.some((n) => n.level === 'warn' && n.message === desired.pruneBlocked));
    }
  },
  title: (title = '') => `empty-set guard: ${title}`,
});

const GUARD = /removing nothing: check that the volume is mounted at \/opt\/data, or pass --allow-empty if they were deleted on purpose$/;
test(
  'every named profile vanished without tombstones blocks pruning, naming the slots and where tombstones would be',
  guarded,
  observedOf(home(), owned('d', 'b', 'a', 'c')),
  {},
  /^every named profile vanished at once \(4 slot\(s\): gateway-a, gateway-b, gateway-c and 1 more\), none of them deleted by hermes profile delete \(it leaves a tombstone in \/opt\/data\/profiles\/\.deleted\/\); removing nothing: /,
);
test(
  'a missing profiles/ with owned named slots blocks pruning',
  guarded,
  observedOf(home({ profilesRoot: { kind: 'missing' } }), owned('a')),
  {},
  /^\/opt\/data\/profiles is missing while 1 named slot\(s\) exist; removing nothing \(if every named profile was deleted on purpose, create \/opt\/data\/profiles empty and run sync --allow-empty\)$/,
);
test(
  'a missing profiles/ still blocks with --allow-empty, which cannot make anything count as gone',
  guarded,
  observedOf(home({ profilesRoot: { kind: 'missing' } }), owned('a')),
  { allowEmpty: true },
  /profiles is missing while 1 named slot\(s\) exist/,
);
test(
  'an unreadable profiles/ blocks pruning',
  guarded,
  observedOf(home({ profilesRoot: { kind: 'unreadable', reason: 'EIO' } }), owned('a')),
  {},
  /profiles cannot be used \(EIO\): no named profile is used, only the root profile default, and the 1 named slot\(s\) are kept as they are until it can be read; make it a directory/,
);
test('--allow-empty lifts the guard', guarded, observedOf(home(), owned('a', 'b')), { allowEmpty: true }, undefined);
test('tombstoned deletions are intended', guarded, observedOf(home({ tombstones: { a: 5 } }), owned('a')), {}, undefined);
test(
  'a directory left under profiles/ without a SOUL.md is no profile: it does not lift the guard',
  guarded,
  observedOf(home({ strayDirs: ['notes', '.cache', 'default'] }), owned('a', 'b')),
  {},
  GUARD,
);
test(
  'a targeted pass that finds a profile among the directories it did not read: the volume counts as mounted',
  guarded,
  observedOf({ ...home(), presentDirs: new Set(['c']), profileOutOfScope: true }, owned('a', 'b')),
  {},
  undefined,
);
test(
  'a targeted pass whose unread directories hold no profile still blocks',
  guarded,
  observedOf({ ...home(), presentDirs: new Set(['notes']), profileOutOfScope: false }, owned('a', 'b')),
  {},
  GUARD,
);
test(
  'profiles it would skip do not lift the guard: a symlink, an invalid name, a tombstoned one',
  guarded,
  observedOf(
    home({
      named: [
        profile('shared', { unusable: 'the profile directory is a symlink, which is never followed' }),
        profile('Backup'),
        profile('old', { soulMtimeMs: 1000 }),
      ],
      tombstones: { old: 2000 },
    }),
    owned('a', 'b'),
  ),
  {},
  GUARD,
);
test(
  'one remaining profile means the volume is mounted',
  guarded,
  observedOf(home({ named: [profile('c')] }), owned('a', 'b', 'c')),
  {},
  undefined,
);
test(
  'no owned named slot, nothing to guard',
  guarded,
  observedOf(home(), scandirOf([slotOf(specOf('a', false), { owned: false })])),
  {},
  undefined,
);
test('boot never sets the guard (it never prunes)', guarded, observedOf(home(), owned('a')), { mode: 'boot' }, undefined);

test('an unreadable profiles/ is one warning: the guard says what the unusable-profiles warning would, and what it keeps', (t) => {
  const unreadable = observedOf(home({ profilesRoot: { kind: 'unreadable', reason: 'EACCES' } }), owned('a'));
  const about = (notices: readonly { message: string }[]) => notices.filter((n) => n.message.includes('profiles cannot be used'));
  t.is(about(buildDesired(inputOf(unreadable, { mode: 'sync' })).notices).length, 1);
  // boot has no guard: its one warning is the plain one.
  const boot = about(buildDesired(inputOf(unreadable, { mode: 'boot' })).notices);
  t.is(boot.length, 1);
  t.notRegex(boot[0]?.message ?? '', /kept as they are/);
});
