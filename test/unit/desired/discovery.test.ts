/**
 * Discovery (reference S08, S20–S26 and §0): which candidates become slots, in which order, and
 * how invalid names and `profiles/default/` are reported without stopping the pass.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { MAX_PROFILE_NAME, buildDesired } from '../../../src/desired/index.js';
import { home, inputOf, observedOf, profile, scandirOf, slotOf, specOf, stateOf } from '../../helpers/observed.js';

const invalidName = test.macro({
  exec(t: ExecutionContext, name: string, why: string) {
    const h = home({ named: [profile(name, { state: stateOf({ gateway_state: 'running' }) }), profile('ok')] });
    const desired = buildDesired(inputOf(observedOf(h)));
    t.deepEqual(
      desired.decisions.find((d) => d.profile === name),
      {
        profile: name,
        service: `gateway-${name}`,
        priorState: null,
        autostart: false,
        action: 'skipped',
        reason: `invalid-name: ${why}`,
        priorExit: 'unknown',
      },
    );
    t.false(desired.services.has(`gateway-${name}`));
    t.true(desired.services.has('gateway-ok'), 'a bad name never stops other profiles');
    t.deepEqual(desired.notices, [
      {
        level: 'warn',
        message: `profiles/${name}: skipped: invalid profile name (${why}); rename the profile: lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 243 characters`,
        profile: name,
      },
    ]);
  },
  title: (title = '', name: string) => `S24 ${title || JSON.stringify(name)} is skipped with a reason and a warning`,
});

const PATTERN = 'name does not match ^[a-z0-9][a-z0-9_-]*$';
test('an uppercase name', invalidName, 'BadName', PATTERN);
test('a dot name', invalidName, '.hidden', PATTERN);
test('a dotted name', invalidName, 'my.profile', PATTERN);
test('a leading dash', invalidName, '-dash', PATTERN);
test('a leading underscore', invalidName, '_under', PATTERN);
test('a newline in the name', invalidName, 'bad\nname', PATTERN);
test('a space in the name', invalidName, 'a b', PATTERN);
test('a non-ASCII name', invalidName, 'caf\u00e9', PATTERN);
test('a name of 244 characters', invalidName, 'a'.repeat(MAX_PROFILE_NAME + 1), `name longer than ${MAX_PROFILE_NAME} characters`);

test('a name of exactly 243 characters is valid and its service fits 251 bytes', (t) => {
  const name = 'z'.repeat(MAX_PROFILE_NAME);
  const desired = buildDesired(inputOf(observedOf(home({ named: [profile(name)] }))));
  t.like(desired.decisions[1], { profile: name, action: 'registered' });
  t.is(Buffer.byteLength(`gateway-${name}`), 251);
  t.true(desired.services.has(`gateway-${name}`));
});

test('valid edge names with digits, dashes and underscores are registered', (t) => {
  const names = ['0', '9lives', 'a-', 'a_', 'a--b__c'];
  const desired = buildDesired(inputOf(observedOf(home({ named: names.map((n) => profile(n)) }))));
  t.true(desired.decisions.every((d) => d.action === 'registered'));
});

test('an unusable candidate (symlinked profile dir) is skipped with its reason', (t) => {
  const h = home({ named: [profile('linked', { unusable: 'the profile directory is a symlink' })] });
  const desired = buildDesired(inputOf(observedOf(h)));
  t.like(desired.decisions[1], { profile: 'linked', action: 'skipped', reason: 'unusable: the profile directory is a symlink' });
  t.false(desired.services.has('gateway-linked'));
  t.is(desired.notices.length, 1);
});

test("a name that is not UTF-8 (so invalid too) is skipped with observe's reason, which gives its bytes", (t) => {
  const why = 'the directory name is not valid UTF-8 (its bytes, in hex: 7a ff): rename the profile';
  const desired = buildDesired(inputOf(observedOf(home({ named: [profile('z\ufffd', { unusable: why })] }))));
  t.like(desired.decisions[1], { action: 'skipped', reason: `unusable: ${why}` });
  t.deepEqual(
    desired.notices.map((n) => n.message),
    [`profiles/z\ufffd: skipped: ${why}`],
  );
});

test('S26 the root comes first, then named profiles in byte order', (t) => {
  const names = ['z-last-alphabetically', 'a_b', 'a-first-alphabetically', 'Zed', '0zero', 'a-b', 'ab'];
  const desired = buildDesired(inputOf(observedOf(home({ named: names.map((n) => profile(n)) }))));
  // Byte order: uppercase < '-' < digits < '_' < lowercase (S26).
  t.deepEqual(
    desired.decisions.map((d) => d.profile),
    ['default', '0zero', 'Zed', 'a-b', 'a-first-alphabetically', 'a_b', 'ab', 'z-last-alphabetically'],
  );
  t.deepEqual([...desired.services.keys()].slice(0, 2), ['gateway-default', 'gateway-0zero']);
});

test('byte order is by UTF-8 bytes, not UTF-16 code units', (t) => {
  // U+FF21 (EF BC A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8 but after it in UTF-16.
  const desired = buildDesired(inputOf(observedOf(home({ named: [profile('\u{1F600}'), profile('\uFF21')] }))));
  t.deepEqual(
    desired.decisions.map((d) => d.profile),
    ['default', '\uFF21', '\u{1F600}'],
  );
});

test('S01 an empty home registers only the default slot, down', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ profilesRoot: { kind: 'missing' } }))));
  t.deepEqual(
    desired.decisions.map((d) => [d.profile, d.action]),
    [['default', 'registered']],
  );
  t.deepEqual([...desired.services.keys()], ['gateway-default']);
  t.deepEqual(desired.notices, []);
});

test('S22 an unreadable profiles/ still registers the default slot', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ profilesRoot: { kind: 'unreadable', reason: 'is a regular file' } }))));
  t.deepEqual([...desired.services.keys()], ['gateway-default']);
});

test('tombstones that cannot be read (a symlinked profiles/.deleted) are said to count for nothing', (t) => {
  const h = { ...home({ root: stateOf({ gateway_state: 'running' }) }), tombstonesUnread: 'a symlink, never followed' };
  const desired = buildDesired(inputOf(observedOf(h)));
  t.deepEqual(
    desired.notices.map((n) => [n.level, n.message]),
    [
      [
        'warn',
        '/opt/data/profiles/.deleted cannot be read (a symlink, never followed): its tombstones count for nothing, so a deleted profile whose directory remains is still used; make it a directory the user running the tool can read',
      ],
    ],
  );
});

test('tombstones beyond the most one pass reads are said to count for nothing, with how many', (t) => {
  const h = { ...home({ root: stateOf({ gateway_state: 'running' }) }), tombstones: new Map([['old', Number.NaN]]), tombstonesSkipped: 7 };
  const desired = buildDesired(inputOf(observedOf(h)));
  t.deepEqual(
    desired.notices.map((n) => [n.level, n.message]),
    [
      [
        'warn',
        '/opt/data/profiles/.deleted holds more tombstones than one pass reads (7 beyond the first 1): those count for nothing, so a profile deleted with one of them is still used while its directory remains; delete the tombstones of profiles long gone',
      ],
    ],
  );
});

test('S08 profiles/default/ is ignored with a warning naming profiles/default/', (t) => {
  const h = home({ root: stateOf({ gateway_state: 'running' }), shadowedDefault: true });
  const desired = buildDesired(inputOf(observedOf(h)));
  t.deepEqual(
    desired.decisions.map((d) => [d.profile, d.action]),
    [['default', 'started']],
  );
  const warns = desired.notices.filter((n) => n.level === 'warn');
  t.is(warns.length, 1);
  t.true(warns[0]?.message.includes('profiles/default/'));
  t.is(
    warns[0]?.message,
    'profiles/default/ exists \u2014 skipping to avoid colliding with the reserved root-profile s6 slot; rename it to use it as a named profile (the root profile default is HERMES_HOME itself)',
  );
});

test('S20 a directory without SOUL.md gives no decision and no slot', (t) => {
  const desired = buildDesired(inputOf(observedOf(home({ strayDirs: ['stray'] }))));
  t.deepEqual(
    desired.decisions.map((d) => d.profile),
    ['default'],
  );
  t.false(desired.services.has('gateway-stray'));
});

test('decisions and services are deterministic whatever the input order', (t) => {
  const names = ['m', 'b', 'x', 'a'];
  const one = buildDesired(inputOf(observedOf(home({ named: names.map((n) => profile(n)) }))));
  const two = buildDesired(inputOf(observedOf(home({ named: [...names].reverse().map((n) => profile(n)) }))));
  t.deepEqual(one.decisions, two.decisions);
  t.deepEqual([...one.services.entries()], [...two.services.entries()]);
});

test('an owned slot whose profile directory lost its SOUL.md is kept as it is, with a warning saying what to do', (t) => {
  const slots = scandirOf([slotOf(specOf('quiet', true))]);
  const desired = buildDesired(inputOf(observedOf(home({ strayDirs: ['quiet'] }), slots), { mode: 'sync' }));
  t.true(desired.keep.has('gateway-quiet'));
  t.false(desired.gone.has('gateway-quiet'));
  t.deepEqual(
    desired.notices.filter((n) => n.profile === 'quiet').map((n) => `${n.level}: ${n.message}`),
    [
      'warn: /opt/data/profiles/quiet has no SOUL.md, so it is no profile: gateway-quiet is left as it is, neither repaired nor removed; restore /opt/data/profiles/quiet/SOUL.md, or delete /opt/data/profiles/quiet so that sync removes the slot',
    ],
  );
  // A deleted directory is pruned instead, without this warning.
  const deleted = buildDesired(inputOf(observedOf(home({ named: [profile('other')] }), slots), { mode: 'sync' }));
  t.true(deleted.gone.has('gateway-quiet'));
  t.false(deleted.notices.some((n) => n.profile === 'quiet'));
});
