/**
 * `watch` started with relative paths records its trees as absolute paths in its status file, so
 * `status` run from any directory recognises its own watcher, and one over other trees as such.
 */
import test from 'ava';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { killGroup, makeWorld, removeWorlds, runCli, startCli, worldArgs, writeProfiles } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/s6.js';

test.after.always('remove temp dirs', removeWorlds);

test('watch run with relative paths writes absolute ones; status from elsewhere matches it, or names it as another watcher', async (t) => {
  const w = await makeWorld('watch-paths');
  writeProfiles(w.home, { alice: 'running' });
  const statusFile = path.join(w.root, 'status.json');
  const relative = ['--hermes-home', 'home', '--scandir', path.relative(w.root, w.scandir), '--config', 'config.json'];
  const watch = startCli(['watch', ...relative, '--container-argv', '[]', '--interval', '3600', '--status-file', statusFile], {
    cwd: w.root,
    timeoutMs: Infinity,
  });
  t.teardown(() => killGroup(watch.child, 'SIGKILL'));
  await waitFor(() => existsSync(statusFile), 60_000, 'the status file');
  const doc = JSON.parse(readFileSync(statusFile, 'utf8')) as { hermesHome: string; scandir: string };
  t.deepEqual({ hermesHome: doc.hermesHome, scandir: doc.scandir }, { hermesHome: w.home, scandir: w.scandir });

  const status = await runCli(['status', ...worldArgs(w), '--status-file', statusFile, '--output', 'json'], { cwd: '/' });
  t.is(status.code, 0, status.stderr);
  t.like(JSON.parse(status.stdout), { watcher: { state: 'present', running: true } });

  const other = path.join(w.root, 'other-scan');
  mkdirSync(other);
  const elsewhere = await runCli(['status', ...worldArgs(w), '--scandir', other, '--status-file', statusFile, '--output', 'json']);
  t.like(JSON.parse(elsewhere.stdout), { watcher: { state: 'elsewhere', scandir: w.scandir } });
  killGroup(watch.child, 'SIGTERM');
  t.is((await watch.done).code, 0);
});
