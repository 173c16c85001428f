/**
 * Issue 16: a slot whose profile intent is unreadable (pending) keeps its `down` marker and live
 * state, but its missing or wrong files are still fixed, so an empty or damaged slot never stays
 * broken.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli, sandbox } from '../../helpers/cli.js';
import { makeHermesHome } from '../../helpers/tree.js';

const syncArgs = (home: string, scandir: string, ...extra: string[]): string[] => [
  'sync',
  '--hermes-home',
  home,
  '--scandir',
  scandir,
  '--container-argv',
  '[]',
  ...extra,
];

test('sync repairs an empty slot of a profile without a state file, and neither starts nor stops it', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  await mkdir(path.join(box.scandir, 'gateway-coder'), { recursive: true });
  const r = await runCli(syncArgs(box.home, box.scandir, '--output', 'json'));
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { profiles: { profile: string; action: string }[]; operations: { kind: string; service: string }[] };
  t.like(
    doc.profiles.find((p) => p.profile === 'coder'),
    { action: 'pending' },
  );
  t.deepEqual(
    doc.operations.filter((o) => o.service === 'gateway-coder').map((o) => o.kind),
    ['update'],
  );
  for (const f of ['type', 'run', 'finish', 'log/run', '.reconcile-gateways.json'])
    t.true(existsSync(path.join(box.scandir, 'gateway-coder', f)), f);
  t.false(existsSync(path.join(box.scandir, 'gateway-coder', 'down')), 'no down marker added: the intent is unknown');
  t.is((await runCli(syncArgs(box.home, box.scandir, '--diff'))).code, 0, 'repaired once, then converged');
});

test("sync keeps a pending slot's down marker while it rewrites a damaged run", async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(box.scandir, { recursive: true });
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'stopped' } } });
  t.is((await runCli(syncArgs(box.home, box.scandir))).code, 0);
  const run = path.join(box.scandir, 'gateway-coder', 'run');
  const good = await readFile(run, 'utf8');
  await writeFile(run, '#!/bin/sh\nexec damaged\n');
  await writeFile(path.join(box.home, 'profiles/coder/gateway_state.json'), '{"desired_state": "runn');
  t.is((await runCli(syncArgs(box.home, box.scandir))).code, 0);
  t.is(await readFile(run, 'utf8'), good);
  t.true(existsSync(path.join(box.scandir, 'gateway-coder', 'down')), 'the down marker stays');
});
