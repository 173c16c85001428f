/**
 * Issue 4, trust model: the scandir is attacker-writable too. A slot that is a symlink or not a
 * directory is foreign and never written through; every file written in a slot replaces a
 * symlink instead of following it.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { renderRun } from '../../../src/desired/render.js';
import {
  TEST_SETTINGS,
  removeWorlds,
  runWorld,
  runWorldJson,
  type World,
  writeConfig,
  writeProfiles,
  makeWorld,
} from '../../helpers/cli.js';
import { diffSnapshot, snapshot } from './tree-check.js';
import { needsRoot } from '../../helpers/needs.js';
import { STATE_MARKER } from '../../../src/state-dir/index.js';

test.after.always('remove scratch trees', async () => {
  await removeWorlds();
});

async function layout(prefix: string): Promise<World & { outside: string }> {
  const l = await makeWorld(prefix);
  const outside = path.join(l.root, 'outside');
  fs.mkdirSync(path.join(outside, 'slot'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'slot', 'run'), '#!/bin/sh\necho outside\n');
  fs.writeFileSync(path.join(outside, 'target'), 'do not touch\n');
  fs.writeFileSync(path.join(outside, 'down-target'), 'down target\n');
  return { ...l, outside };
}

test('a slot that is a symlink or a regular file is foreign: failed with the path, never written through, the others converge', async (t) => {
  const l = await layout('foreign-slot');
  writeProfiles(l.home, { alice: 'running', bob: 'running', carol: 'stopped' });
  fs.symlinkSync(path.join(l.outside, 'slot'), path.join(l.scandir, 'gateway-bob'));
  fs.writeFileSync(path.join(l.scandir, 'gateway-carol'), 'squatter\n');
  const outsideBefore = snapshot(l.outside);

  const { doc, ...result } = await runWorldJson('boot', l);
  t.is(result.code, 2);
  const ops = new Map((doc.operations ?? []).map((o) => [o.service, o]));
  for (const service of ['gateway-bob', 'gateway-carol']) {
    t.is(ops.get(service)?.status, 'failed');
    t.regex(
      ops.get(service)?.error ?? '',
      new RegExp(`${l.scandir}/${service}: EEXIST: a (symlink|regular file) is in the way; refusing to replace it`),
    );
  }
  t.is(ops.get('gateway-alice')?.status, 'applied');
  t.is(ops.get('gateway-default')?.status, 'applied');
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
  t.true(fs.lstatSync(path.join(l.scandir, 'gateway-bob')).isSymbolicLink());
  t.is(fs.readFileSync(path.join(l.scandir, 'gateway-carol'), 'utf8'), 'squatter\n');
  t.deepEqual(
    fs
      .readdirSync(l.scandir)
      .filter((n) => n.startsWith('.'))
      .sort(),
    ['.reconcile-gateways'],
  );

  fs.unlinkSync(path.join(l.scandir, 'gateway-bob'));
  fs.unlinkSync(path.join(l.scandir, 'gateway-carol'));
  t.is((await runWorld('sync', l)).code, 0, 'a rerun after the fault is fixed converges');
  t.is((await runWorld('sync', l, ['--diff'])).code, 0);
});

test('managed files replaced by symlinks are rewritten in place of the link; the targets stay byte-identical', async (t) => {
  const l = await layout('file-links');
  writeProfiles(l.home, { alice: 'running', bob: 'stopped' });
  t.is((await runWorld('boot', l)).code, 0);
  const slot = path.join(l.scandir, 'gateway-alice');
  for (const rel of ['run', 'finish', 'type', 'log/run', '.reconcile-gateways.json']) {
    fs.unlinkSync(path.join(slot, rel));
    fs.symlinkSync(path.join(l.outside, 'target'), path.join(slot, rel));
  }
  fs.symlinkSync(path.join(l.outside, 'down-target'), path.join(l.scandir, 'gateway-alice', 'down'));
  const outsideBefore = snapshot(l.outside);

  const result = await runWorld('sync', l);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
  for (const rel of ['run', 'finish', 'type', 'log/run', '.reconcile-gateways.json']) {
    t.true(fs.lstatSync(path.join(slot, rel)).isFile(), `${rel} is a regular file again`);
  }
  t.is(fs.readFileSync(path.join(slot, 'run'), 'utf8'), renderRun('alice', { ...TEST_SETTINGS } as Parameters<typeof renderRun>[1]));
  t.false(fs.existsSync(path.join(slot, 'down')), 'the symlinked down marker was unlinked (alice runs)');
  t.is((await runWorld('sync', l, ['--diff'])).code, 0);
});

test('a slot whose log/ is a symlink gets a log/ directory in its place, and nothing is written through it', async (t) => {
  const l = await layout('log-link');
  writeProfiles(l.home, { alice: 'running', bob: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  const log = path.join(l.scandir, 'gateway-alice', 'log');
  fs.rmSync(log, { recursive: true });
  fs.symlinkSync(path.join(l.outside, 'slot'), log);
  writeConfig(l, { gatewayCommand: '/bin/false' });
  const outsideBefore = snapshot(l.outside);

  const preview = await runWorld('sync', l, ['--diff']);
  t.true(preview.stdout.includes('  log: a symlink, replaced by a directory'), preview.stdout);
  const { doc, ...result } = await runWorldJson('sync', l);
  t.is(result.code, 0, result.stderr);
  const alice = (doc.operations ?? []).find((o) => o.service === 'gateway-alice');
  t.is(alice?.status, 'applied');
  t.true(fs.lstatSync(log).isDirectory(), 'log/ is a directory again (the symlink unlinked, not followed)');
  t.true(fs.existsSync(path.join(log, 'run')));
  t.is((doc.operations ?? []).find((o) => o.service === 'gateway-bob')?.status, 'applied');
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
});

needsRoot(test)("a trash or staging directory planted under the tool's names is replaced by a private one, never used", async (t) => {
  const l = await layout('planted-trash');
  writeProfiles(l.home, { alice: 'running', bob: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  const state = path.join(l.scandir, '.reconcile-gateways');
  const trash = path.join(state, 'trash');
  fs.rmSync(state, { recursive: true });
  fs.mkdirSync(path.join(trash, 'gateway-bob'), { recursive: true, mode: 0o777 });
  fs.chmodSync(trash, 0o777);
  fs.chmodSync(state, 0o777);
  fs.chownSync(trash, 65534, 65534);
  fs.chownSync(state, 65534, 65534);
  fs.symlinkSync(path.join(l.outside, 'slot'), path.join(state, `staging.${process.pid}`));
  fs.rmSync(path.join(l.home, 'profiles', 'bob'), { recursive: true });
  writeProfiles(l.home, { carol: 'running' });
  const outsideBefore = snapshot(l.outside);

  const result = await runWorld('sync', l);
  t.is(result.code, 0, result.stderr);
  t.false(fs.existsSync(path.join(l.scandir, 'gateway-bob')));
  t.true(fs.existsSync(path.join(l.scandir, 'gateway-carol', 'run')));
  const st = fs.lstatSync(trash);
  t.is(`${(st.mode & 0o7777).toString(8)} ${st.uid}`, `700 ${process.geteuid?.() ?? 0}`);
  t.deepEqual(fs.readdirSync(trash), []);
  t.deepEqual(fs.readdirSync(state).sort(), [STATE_MARKER, 'lock', 'trash']);
  t.deepEqual(diffSnapshot(outsideBefore, snapshot(l.outside)), []);
});
