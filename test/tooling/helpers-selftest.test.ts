import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { SLEEP_RUN, createSvscanState, processAlive, startSvscan, stopAll, waitFor } from '../helpers/s6.js';
import { diffSnapshots, makeHermesHome, removeTree, snapshotTree, tempDir, writeFileTree } from '../helpers/tree.js';
import { needsS6 } from '../helpers/needs.js';

const execFileAsync = promisify(execFile);

test.after.always('stop every s6-svscan started here', async () => {
  await stopAll({ removeState: true });
});

needsS6(test)('a service renamed into a real scandir comes up, goes down on s6-svc -d, and stop leaves no process', async (t) => {
  const { state, scandir } = await createSvscanState();
  const svscan = await startSvscan(state);
  t.is(svscan.scandir, scandir);
  t.true(processAlive(svscan.pid));

  await writeFileTree(path.join(scandir, '.gw.tmp'), { run: { content: SLEEP_RUN, mode: 0o755 } });
  await rename(path.join(scandir, '.gw.tmp'), path.join(scandir, 'gw'));
  await execFileAsync('s6-svscanctl', ['-a', scandir]);
  await svscan.waitUp('gw');
  const up = await svscan.svstat('gw');
  t.like(up, { up: true, wantedup: true, normallyup: true, ready: false, exitcode: -1, signal: 'NA' });
  t.true(up.pid > 0 && processAlive(up.pid));
  t.true(svscan.isSupervised('gw'));
  t.is(svscan.supervisorPids().length, 1);

  await execFileAsync('s6-svc', ['-d', svscan.servicePath('gw')]);
  await svscan.waitDown('gw');
  await svscan.waitSvstat('gw', ['up', 'wantedup', 'signal'], [false, false, 'SIGTERM']);
  t.like(await svscan.svstat('gw'), { up: false, pid: -1 });
  await waitFor(() => !processAlive(up.pid), 10_000, `sleep ${up.pid} to exit after s6-svc -d`);

  await execFileAsync('s6-svc', ['-u', svscan.servicePath('gw')]);
  await svscan.waitUp('gw');
  const again = await svscan.svstat('gw');
  const supervisors = svscan.supervisorPids();
  await svscan.stop();
  for (const pid of [svscan.pid, ...supervisors, again.pid]) t.false(processAlive(pid), `pid ${pid} survived stop`);
  t.false(svscan.isSupervised('gw'));
  await svscan.stop();
  await removeTree(state);
});

needsS6(test)('addService honours a down file, and a removed dir loses its supervisor on rescan', async (t) => {
  const svscan = await startSvscan((await createSvscanState()).state, { maxServices: 20 });
  await svscan.addService('idle', SLEEP_RUN, { files: { down: '' } });
  // Supervised means readable at once: s6-supervise writes supervise/status a moment after its lock.
  t.true(existsSync(path.join(svscan.servicePath('idle'), 'supervise', 'status')));
  t.like(await svscan.svstat('idle'), { up: false, wantedup: false, normallyup: false });
  await svscan.waitSvstat('idle', 'up,wantedup,normallyup', 'false false false');
  await svscan.addService('busy', SLEEP_RUN);
  await svscan.waitUp('busy');
  t.is(svscan.supervisorPids().length, 2);

  await rename(svscan.servicePath('idle'), path.join(svscan.scandir, '.idle.removed'));
  await svscan.rescan();
  await waitFor(() => !svscan.isSupervised('.idle.removed'), 10_000, 'the supervisor of the removed dir to exit');
  await waitFor(() => svscan.supervisorPids().length === 1, 10_000, 'one supervisor left');
  await t.throwsAsync(svscan.svstat('idle'), { message: /s6-svstat .*idle failed/ });
});

needsS6(test)('a wait that cannot succeed fails with the service state in its message', async (t) => {
  const svscan = await startSvscan((await createSvscanState()).state);
  await svscan.addService('stays-down', SLEEP_RUN, { files: { down: '' } });
  const error = await t.throwsAsync(svscan.waitUp('stays-down', 300));
  // The message spans lines (s6's own output is quoted in it): check its parts, not one regex.
  t.true(error?.message.includes('wait-up stays-down within 300 ms failed'), error?.message);
  t.true(error?.message.includes('s6-svstat now: down'), error?.message);
  await t.throwsAsync(svscan.waitSupervised('nosuch', 200), { message: /wait-supervised nosuch/ });
});

test('waitFor names what it waited for and keeps the last error as cause', async (t) => {
  const error = await t.throwsAsync(
    waitFor(
      () => {
        throw new Error('not yet');
      },
      50,
      'the moon',
    ),
  );
  t.regex(error?.message ?? '', /timed out after 50 ms waiting for the moon \(last error: not yet\)/);
  t.true(error?.cause instanceof Error);
  await waitFor(async () => Promise.resolve(true), 50, 'an immediate truth');
});

test('processAlive is true for this process and false for a reaped child', (t) => {
  t.true(processAlive(process.pid));
  const child = spawnSync('true');
  t.is(child.status, 0);
  t.false(processAlive(child.pid));
});

test('diffSnapshots reports a mode change and a content change, and nothing for an untouched tree', async (t) => {
  const root = await tempDir('tree-selftest-');
  t.teardown(() => removeTree(root));
  await writeFileTree(root, {
    'svc/run': { content: '#!/bin/sh\nexec sleep 1000\n', mode: 0o644 },
    'svc/notification-fd': '3\n',
    'svc/data': { dir: true },
  });
  const before = await snapshotTree(root);
  t.deepEqual([...before.keys()], ['svc', 'svc/data', 'svc/notification-fd', 'svc/run']);
  t.deepEqual(diffSnapshots(before, await snapshotTree(root)), []);

  await chmod(path.join(root, 'svc/run'), 0o755);
  await writeFile(path.join(root, 'svc/notification-fd'), '4\n');
  const after = await snapshotTree(root);
  const diff = diffSnapshots(before, after, { ignoreVolatile: true });
  t.deepEqual(diff, ['changed svc/notification-fd: content (2 bytes -> 2 bytes)', 'changed svc/run: mode 0644 -> 0755']);
  t.true(diffSnapshots(before, after).some((line) => line.startsWith('changed svc/notification-fd: ') && line.includes('mtimeMs')));
  t.deepEqual(diffSnapshots(before, after, { ignoreVolatile: true, ignoreFields: ['mode', 'content'] }), []);
  t.deepEqual(diffSnapshots(before, after, { ignoreVolatile: true, ignorePath: (p) => p.startsWith('svc/') }), []);
});

test('snapshotTree records symlinks and FIFOs without following or opening them', async (t) => {
  const root = await tempDir('tree-selftest-');
  const outside = await tempDir('tree-outside-');
  t.teardown(async () => {
    await removeTree(root);
    await removeTree(outside);
  });
  await writeFileTree(outside, { secret: 'x' });
  await writeFileTree(root, { link: { symlink: outside }, dangling: { symlink: 'nowhere' }, 'svc/control': { fifo: true } });
  const snap = await snapshotTree(root);
  t.deepEqual([...snap.keys()], ['dangling', 'link', 'svc', 'svc/control']);
  t.like(snap.get('link'), { type: 'symlink', target: outside });
  t.like(snap.get('dangling'), { type: 'symlink', target: 'nowhere' });
  t.like(snap.get('svc/control'), { type: 'fifo' });
  t.is(snap.get('svc/control')?.content, undefined);

  await removeTree(path.join(root, 'dangling'));
  await writeFileTree(root, { extra: 'e' });
  t.deepEqual(diffSnapshots(snap, await snapshotTree(root), { ignoreVolatile: true }), [
    'removed dangling (symlink)',
    'added extra (file)',
  ]);
});

test('makeHermesHome writes SOUL.md and gateway_state.json per profile and the root state', async (t) => {
  const home = await tempDir('hermes-home-');
  t.teardown(() => removeTree(home));
  await makeHermesHome(
    home,
    { alpha: { state: { gateway_state: 'running' } }, beta: { soul: false, state: '{broken' }, gamma: {} },
    { root: true },
  );
  const snap = await snapshotTree(home);
  const text = (p: string): string => Buffer.from(snap.get(p)?.content ?? '', 'base64').toString('utf8');
  t.deepEqual(
    [...snap.keys()],
    [
      'gateway_state.json',
      'profiles',
      'profiles/alpha',
      'profiles/alpha/SOUL.md',
      'profiles/alpha/gateway_state.json',
      'profiles/beta',
      'profiles/beta/gateway_state.json',
      'profiles/gamma',
      'profiles/gamma/SOUL.md',
    ],
  );
  t.is(text('gateway_state.json'), '{"root":true}');
  t.is(text('profiles/alpha/SOUL.md'), 'soul\n');
  t.is(text('profiles/alpha/gateway_state.json'), '{"gateway_state":"running"}');
  t.is(text('profiles/beta/gateway_state.json'), '{broken');
});
