/**
 * src/model/constants.ts: the shared names agree with what the layers do with them. What render
 * writes is what MANAGED_FILES lists, the root profile is the one without `-p`, and observe finds
 * the state file and the stale runtime files under these names.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import {
  MANAGED_FILES,
  OWNERSHIP_FILE,
  ROOT_PROFILE,
  RUNTIME_FILES,
  STALE_RUNTIME_FILES,
  STATE_FILE,
} from '../../../src/model/constants.js';
import { renderRun, renderSlotFiles } from '../../../src/desired/render.js';
import { observeHome } from '../../../src/observe/home.js';
import { DEFAULT_SETTINGS } from '../../../src/cli/config.js';
import { put, tempRoot } from '../support.js';

test('render writes exactly the managed files, in MANAGED_FILES order', (t) => {
  const files = renderSlotFiles('gateway-a', 'a', DEFAULT_SETTINGS);
  t.deepEqual(
    files.map((f) => f.path),
    [...MANAGED_FILES],
  );
});

test('the ownership record is one of the managed files and names the tool and the service', (t) => {
  t.true((MANAGED_FILES as readonly string[]).includes(OWNERSHIP_FILE));
  const record = renderSlotFiles('gateway-a', 'a', DEFAULT_SETTINGS).find((f) => f.path === OWNERSHIP_FILE);
  t.like(JSON.parse(record?.content ?? '{}'), { managedBy: 'reconcile-gateways', service: 'gateway-a', profile: 'a' });
});

test('runtime files are managed files that are scripts s6 runs', (t) => {
  const files = new Map(renderSlotFiles('gateway-a', 'a', DEFAULT_SETTINGS).map((f) => [f.path, f]));
  for (const name of RUNTIME_FILES) {
    const spec = files.get(name);
    t.truthy(spec, name);
    t.is(spec?.mode, 0o755, name);
    t.true(spec?.content.startsWith(DEFAULT_SETTINGS.shebang), name);
  }
  t.false(RUNTIME_FILES.has(OWNERSHIP_FILE));
  t.false(RUNTIME_FILES.has('type'));
});

test('the root profile runs without -p, every other profile with -p <name>', (t) => {
  t.false(renderRun(ROOT_PROFILE, DEFAULT_SETTINGS).includes(' -p '));
  t.true(renderRun('work', DEFAULT_SETTINGS).includes(' -p work gateway run'));
});

test('observe reads the state file and finds the stale runtime files under these names', (t) => {
  const { root, dir } = tempRoot(t);
  put(root, STATE_FILE, '{"desired_state":"stopped"}');
  for (const name of STALE_RUNTIME_FILES) put(root, name, '1');
  fs.mkdirSync(path.join(root, 'profiles'));
  const home = observeHome(dir, undefined, true);
  const rootProfile = home.profiles[0];
  t.is(rootProfile?.name, ROOT_PROFILE);
  t.like(rootProfile?.state, { kind: 'parsed', desiredState: 'stopped' });
  t.deepEqual(rootProfile?.runtimeFiles, [...STALE_RUNTIME_FILES]);
});
