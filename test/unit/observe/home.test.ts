/**
 * src/observe/home.ts: HERMES_HOME read on temp trees. A profile is a directory under profiles/
 * with SOUL.md; its state and lifecycle files become values (missing, parsed, unreadable with a
 * reason); nothing is followed, no FIFO blocks, no file over its cap is read, and one broken
 * profile never hides the others.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { ObservedHome, ObservedProfile } from '../../../src/model.js';
import { TOMBSTONES_MAX, observeHome, observeStateFiles } from '../../../src/observe/home.js';
import { STATE_FILE_CAP } from '../../../src/observe/parse.js';
import { closeDir, openDirAt } from '../../../src/safe-fs/index.js';
import { makeFifo } from '../../helpers/fifo.js';
import { put, tempRoot } from '../support.js';

/** A HERMES_HOME with profiles/ and, per name, SOUL.md plus the given state file text. */
function homeWith(t: Parameters<typeof tempRoot>[0], profiles: Record<string, string | undefined>): ReturnType<typeof tempRoot> {
  const home = tempRoot(t, 'rg-home-');
  fs.mkdirSync(path.join(home.root, 'profiles'));
  for (const [name, state] of Object.entries(profiles)) {
    put(home.root, `profiles/${name}/SOUL.md`, 'soul\n');
    if (state !== undefined) put(home.root, `profiles/${name}/gateway_state.json`, state);
  }
  return home;
}

const byName = (home: ObservedHome): Map<string, ObservedProfile> => new Map(home.profiles.map((p) => [p.name, p]));

test('profiles with SOUL.md are read with their state; a directory without SOUL.md is only present', (t) => {
  const { root, dir } = homeWith(t, { work: '{"desired_state":"running","gateway_state":"running"}', idle: undefined });
  fs.mkdirSync(path.join(root, 'profiles', 'notes'));
  const home = observeHome(dir);
  const profiles = byName(home);
  t.deepEqual(home.profilesRoot, { kind: 'ok' });
  t.is(home.profiles[0]?.name, 'default', 'the root profile comes first');
  t.true(home.profiles[0]?.isRoot);
  t.deepEqual(profiles.get('work')?.state, { kind: 'parsed', desiredState: 'running', gatewayState: 'running' });
  t.deepEqual(profiles.get('idle')?.state, { kind: 'missing' });
  t.is(profiles.get('work')?.soulMtimeMs, fs.statSync(path.join(root, 'profiles', 'work', 'SOUL.md')).mtimeMs);
  t.false(profiles.has('notes'));
  t.deepEqual([...home.presentDirs].sort(), ['idle', 'notes', 'work']);
});

test('a corrupt or oversized state file is unreadable with a reason, and the other profiles are still read', (t) => {
  const { dir } = homeWith(t, {
    torn: '{"desired_state": "runn',
    huge: `{"desired_state":"running","pad":"${'x'.repeat(STATE_FILE_CAP)}"}`,
    fine: '{"desired_state":"stopped"}',
  });
  const profiles = byName(observeHome(dir));
  t.like(profiles.get('torn')?.state, { kind: 'unreadable' });
  t.deepEqual(profiles.get('huge')?.state, {
    kind: 'unreadable',
    reason: `is larger than ${STATE_FILE_CAP} bytes (${STATE_FILE_CAP + 36})`,
  });
  t.like(profiles.get('fine')?.state, { kind: 'parsed', desiredState: 'stopped' });
});

test('a FIFO as the state file reads as unreadable at once, never blocking the pass', (t) => {
  const { root, dir } = homeWith(t, { jammed: undefined, fine: '{"desired_state":"running"}' });
  makeFifo(path.join(root, 'profiles', 'jammed', 'gateway_state.json'));
  makeFifo(path.join(root, 'gateway_state.json'));
  const home = observeHome(dir);
  const profiles = byName(home);
  t.deepEqual(profiles.get('jammed')?.state, { kind: 'unreadable', reason: 'is a FIFO' });
  t.deepEqual(profiles.get('default')?.state, { kind: 'unreadable', reason: 'is a FIFO' });
  t.deepEqual(home.rootStateEntry, { kind: 'blocked', reason: 'is a FIFO' });
  t.like(profiles.get('fine')?.state, { kind: 'parsed', desiredState: 'running' });
});

test('a symlinked profile directory is present but unusable, and its target is never read', (t) => {
  const { root, dir } = homeWith(t, {});
  put(root, 'elsewhere/SOUL.md', 'soul\n');
  put(root, 'elsewhere/gateway_state.json', '{"desired_state":"running"}');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'profiles', 'linked'));
  const home = observeHome(dir);
  t.deepEqual(byName(home).get('linked'), {
    name: 'linked',
    isRoot: false,
    unusable: 'the profile directory is a symlink, which is never followed: move the directory itself into profiles/',
    state: { kind: 'missing' },
    lifecycle: { kind: 'missing' },
  });
  t.true(home.presentDirs.has('linked'));
});

test('a symlinked SOUL.md or state file is not followed', (t) => {
  const { root, dir } = homeWith(t, { linkstate: undefined });
  put(root, 'secret.json', '{"desired_state":"running"}');
  fs.symlinkSync(path.join(root, 'secret.json'), path.join(root, 'profiles', 'linkstate', 'gateway_state.json'));
  fs.mkdirSync(path.join(root, 'profiles', 'linksoul'));
  fs.symlinkSync(path.join(root, 'secret.json'), path.join(root, 'profiles', 'linksoul', 'SOUL.md'));
  const profiles = byName(observeHome(dir));
  t.deepEqual(profiles.get('linkstate')?.state, { kind: 'unreadable', reason: 'is a symlink' });
  t.is(profiles.get('linksoul')?.unusable, 'SOUL.md is a symlink, which is never followed: make it a regular file');
});

test('profiles/ missing, a file, or a symlink: no named profiles, and the reason says which', (t) => {
  const missing = tempRoot(t);
  t.deepEqual(observeHome(missing.dir).profilesRoot, { kind: 'missing' });
  const file = tempRoot(t);
  put(file.root, 'profiles', '');
  t.deepEqual(observeHome(file.dir).profilesRoot, { kind: 'unreadable', reason: 'is a regular file' });
  const link = homeWith(t, { real: '{}' });
  fs.renameSync(path.join(link.root, 'profiles'), path.join(link.root, 'real-profiles'));
  fs.symlinkSync(path.join(link.root, 'real-profiles'), path.join(link.root, 'profiles'));
  const home = observeHome(link.dir);
  t.deepEqual(home.profilesRoot, { kind: 'unreadable', reason: 'is a symlink' });
  t.deepEqual(
    home.profiles.map((p) => p.name),
    ['default'],
  );
});

test('the root profile reads HERMES_HOME/gateway_state.json and reports what is at its path', (t) => {
  const absent = homeWith(t, {});
  t.deepEqual(observeHome(absent.dir).rootStateEntry, { kind: 'absent' });
  t.deepEqual(observeHome(absent.dir).profiles[0]?.state, { kind: 'missing' });
  const file = homeWith(t, {});
  put(file.root, 'gateway_state.json', '{"desired_state":"running"}');
  const home = observeHome(file.dir);
  t.deepEqual(home.rootStateEntry, { kind: 'file' });
  t.like(home.profiles[0]?.state, { kind: 'parsed', desiredState: 'running' });
  const link = homeWith(t, {});
  fs.symlinkSync('/nonexistent', path.join(link.root, 'gateway_state.json'));
  t.deepEqual(observeHome(link.dir).rootStateEntry, { kind: 'blocked', reason: 'is a symlink' });
});

test('the lifecycle ledger is read from state/gateway.lifecycle.json', (t) => {
  const { root, dir } = homeWith(t, { a: undefined, b: undefined });
  put(root, 'profiles/a/state/gateway.lifecycle.json', '{"phase":"draining"}');
  put(root, 'profiles/b/state/gateway.lifecycle.json', 'not json');
  const profiles = byName(observeHome(dir));
  t.deepEqual(profiles.get('a')?.lifecycle, { kind: 'parsed', phase: 'draining' });
  t.like(profiles.get('b')?.lifecycle, { kind: 'unreadable' });
  t.deepEqual(profiles.get('default')?.lifecycle, { kind: 'missing' });
});

test('tombstones under profiles/.deleted are listed, with their mtime where the directory remains, never as profiles', (t) => {
  const { root, dir } = homeWith(t, { stays: '{"desired_state":"running"}' });
  const mtime = new Date(Date.UTC(2026, 0, 2));
  for (const name of ['gone', 'stays']) fs.utimesSync(put(root, `profiles/.deleted/${name}`, ''), mtime, mtime);
  const home = observeHome(dir);
  t.deepEqual(
    [...home.tombstones].sort(),
    [
      ['gone', Number.NaN],
      ['stays', mtime.getTime()],
    ],
    'a tombstone without its directory needs no time: its profile is gone anyway',
  );
  t.false(home.presentDirs.has('.deleted'));
  t.is(home.tombstonesUnread, undefined);
  t.is(home.tombstonesSkipped, undefined);
});

test('profiles/.deleted is read up to its bound: the rest count for nothing, and how many is said', (t) => {
  const { root, dir } = homeWith(t, {});
  fs.mkdirSync(path.join(root, 'profiles', '.deleted'));
  for (let i = 0; i < TOMBSTONES_MAX + 3; i++) fs.writeFileSync(path.join(root, 'profiles', '.deleted', `p${i}`), '');
  const home = observeHome(dir);
  t.is(home.tombstones.size, TOMBSTONES_MAX);
  t.is(home.tombstonesSkipped, 3);
});

test('a symlinked profiles/.deleted is not followed, and not reported as a profile either', (t) => {
  const { root, dir } = homeWith(t, { coder: '{"desired_state":"running"}' });
  put(root, 'elsewhere/coder', '');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'profiles', '.deleted'));
  const home = observeHome(dir);
  t.deepEqual([...home.tombstones], [], 'its tombstones are not read');
  t.is(home.tombstonesUnread, 'a symlink, never followed', 'and that is said');
  t.deepEqual(
    home.profiles.map((p) => p.name),
    ['default', 'coder'],
  );
});

test('profiles/default with SOUL.md is reported as shadowed, not read as a second root', (t) => {
  const { dir } = homeWith(t, { default: '{"desired_state":"running"}' });
  const home = observeHome(dir);
  t.true(home.shadowedDefault);
  t.deepEqual(
    home.profiles.map((p) => p.name),
    ['default'],
  );
  t.true(home.profiles[0]?.isRoot);
});

test('a directory name that is not valid UTF-8 is an unusable profile', (t) => {
  const { root, dir } = homeWith(t, {});
  const raw = Buffer.concat([Buffer.from(`${root}/profiles/`), Buffer.from([0x62, 0xff])]);
  fs.mkdirSync(raw);
  const home = observeHome(dir);
  t.is(home.profiles.length, 2);
  t.is(home.profiles[1]?.unusable, 'the directory name is not valid UTF-8 (its bytes, in hex: 62 ff): rename the profile');
});

test('with only, other profiles are not read but still count as present; runtime files are listed on request', (t) => {
  const { root, dir } = homeWith(t, { a: '{"desired_state":"running"}', b: '{"desired_state":"running"}' });
  put(root, 'profiles/a/gateway.pid', '123');
  fs.symlinkSync('/nonexistent', path.join(root, 'profiles', 'a', 'processes.json'));
  const home = observeHome(dir, new Set(['a']), true);
  const profiles = byName(home);
  t.deepEqual([...profiles.keys()], ['default', 'a']);
  t.deepEqual([...home.presentDirs].sort(), ['a', 'b']);
  t.deepEqual(
    profiles.get('a')?.runtimeFiles,
    ['gateway.pid', 'processes.json'],
    'a dangling symlink counts: it is unlinked, not followed',
  );
  t.deepEqual(profiles.get('default')?.runtimeFiles, []);
  t.is(observeHome(dir).profiles[1]?.runtimeFiles, undefined, 'not listed unless asked for');
});

test('a targeted read tells whether a profile remains among the directories it did not read; strays, symlinks and invalid names are none', (t) => {
  const { root, dir } = homeWith(t, { a: undefined, Backup: undefined });
  fs.mkdirSync(path.join(root, 'profiles', 'notes'));
  fs.mkdirSync(path.join(root, 'profiles', '.cache'));
  put(root, 'elsewhere/SOUL.md', 'soul\n');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'profiles', 'shared'));
  put(root, 'profiles/linked-soul/x', '');
  fs.symlinkSync(path.join(root, 'elsewhere', 'SOUL.md'), path.join(root, 'profiles', 'linked-soul', 'SOUL.md'));
  // `gone` is in scope and its directory vanished: only then does the guard need to know.
  t.false(observeHome(dir, new Set(['a', 'gone'])).profileOutOfScope);
  t.false(observeHome(dir).profileOutOfScope, 'a full pass reads every directory: it never needs to look');
  put(root, 'profiles/b/SOUL.md', 'soul\n');
  t.true(observeHome(dir, new Set(['a', 'gone'])).profileOutOfScope);
  t.false(observeHome(dir, new Set(['a', 'b', 'gone'])).profileOutOfScope, 'b was read, so it is no profile out of scope');
  t.false(observeHome(dir, new Set(['a'])).profileOutOfScope, 'nothing in scope vanished: not looked for');
  // b being deleted: its tombstone is written, its directory not yet gone.
  put(root, 'profiles/.deleted/b', '');
  const soul = fs.statSync(path.join(root, 'profiles', 'b', 'SOUL.md'));
  fs.utimesSync(path.join(root, 'profiles', '.deleted', 'b'), soul.atime, new Date(soul.mtimeMs + 1000));
  t.false(observeHome(dir, new Set(['a', 'gone'])).profileOutOfScope, 'a tombstoned profile is none that remains');
});

test('observeStateFiles reads just the named profiles; a missing or symlinked one is unreadable', (t) => {
  const { root, dir } = homeWith(t, { a: '{"desired_state":"stopped"}' });
  put(root, 'gateway_state.json', '{"desired_state":"running"}');
  put(root, 'elsewhere/gateway_state.json', '{"desired_state":"running"}');
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(root, 'profiles', 'linked'));
  const states = observeStateFiles(dir, ['default', 'a', 'gone', 'linked']);
  t.like(states.get('default'), { kind: 'parsed', desiredState: 'running' });
  t.like(states.get('a'), { kind: 'parsed', desiredState: 'stopped' });
  t.like(states.get('gone'), { kind: 'unreadable' });
  t.like(states.get('linked'), { kind: 'unreadable' });
});

test('observeStateFiles reads in a directory the caller holds open, and copes without profiles/', (t) => {
  const { root, dir } = homeWith(t, { a: '{"desired_state":"stopped"}' });
  const a = openDirAt(dir, 'profiles');
  const held = openDirAt(a, 'a');
  closeDir(a);
  t.teardown(() => closeDir(held));
  fs.renameSync(path.join(root, 'profiles'), path.join(root, 'moved'));
  const states = observeStateFiles(dir, ['a', 'b'], (name) => (name === 'a' ? held : undefined));
  t.like(states.get('a'), { kind: 'parsed', desiredState: 'stopped' });
  t.like(states.get('b'), { kind: 'unreadable' });
});
