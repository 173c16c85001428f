/**
 * src/observe/index.ts: one call reads both trees into an ObservedState, and a targeted pass's
 * scope names the root profile and each profile's slot.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { observe, scopeOf } from '../../../src/observe/index.js';
import { put, tempRoot } from '../support.js';

const SETTINGS = { servicePrefix: 'gateway-' };

/** A HERMES_HOME with profiles a and b, and a scandir with their slots' run files. */
function world(t: Parameters<typeof tempRoot>[0]): { home: ReturnType<typeof tempRoot>; scan: ReturnType<typeof tempRoot> } {
  const home = tempRoot(t, 'rg-home-');
  const scan = tempRoot(t, 'rg-scan-');
  for (const p of ['a', 'b']) {
    put(home.root, `profiles/${p}/SOUL.md`, 'soul\n');
    put(home.root, `profiles/${p}/gateway_state.json`, '{"desired_state":"running"}');
    put(home.root, `profiles/${p}/gateway.pid`, '42');
    put(scan.root, `gateway-${p}/run`, '#!/bin/sh\n', 0o755);
  }
  return { home, scan };
}

test('scopeOf always includes the root profile and maps each profile to its slot', (t) => {
  const scope = scopeOf(['work'], SETTINGS);
  t.deepEqual([...scope.profiles].sort(), ['default', 'work']);
  t.deepEqual([...scope.services].sort(), ['gateway-default', 'gateway-work']);
});

test('observe reads HERMES_HOME and the scandir together', (t) => {
  const { home, scan } = world(t);
  const state = observe(home.dir, scan.dir, SETTINGS);
  t.deepEqual(state.home.profiles.map((p) => p.name).sort(), ['a', 'b', 'default']);
  t.deepEqual([...state.scandir.slots.keys()].sort(), ['gateway-a', 'gateway-b']);
  t.is(state.home.profiles[1]?.runtimeFiles, undefined, 'runtime files only when asked for');
});

test('a scoped observe reads only the named profiles and slots; runtime files on request', (t) => {
  const { home, scan } = world(t);
  const state = observe(home.dir, scan.dir, SETTINGS, { scope: scopeOf(['b'], SETTINGS), runtimeFiles: true });
  t.deepEqual(
    state.home.profiles.map((p) => p.name),
    ['default', 'b'],
  );
  t.deepEqual(state.home.profiles[1]?.runtimeFiles, ['gateway.pid']);
  t.deepEqual([...state.scandir.slots.keys()], ['gateway-b']);
  t.true(state.home.presentDirs.has('a'), 'a profile outside the scope still counts as present');
});

test('no scandir yet: the home is read and the scandir reads as absent', (t) => {
  const { home } = world(t);
  fs.rmSync(path.join(home.root, 'profiles', 'a', 'SOUL.md'));
  const state = observe(home.dir, undefined, SETTINGS);
  t.false(state.scandir.exists);
  t.deepEqual(state.home.profiles.map((p) => p.name).sort(), ['b', 'default']);
});
