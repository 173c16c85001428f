/**
 * `watch` started with relative paths records its trees as absolute paths in its status file, so
 * `status` run from any directory recognises its own watcher, and one over other trees as such.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
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

test('an output file path held by a device or FIFO is refused before anything runs: watch --status-file, watch and sync --metrics-file', async (t) => {
  const w = await makeWorld('watch-paths-odd');
  writeProfiles(w.home, { alice: 'running' });
  const fifo = path.join(w.root, 'metrics.prom');
  execFileSync('mkfifo', [fifo]);
  const odd = [{ flag: '--metrics-file', file: fifo, what: 'a FIFO' }];
  if (process.geteuid?.() === 0) {
    // What an operator types to turn the status file off: it replaced /dev/null itself.
    const devNull = path.join(w.root, 'null');
    execFileSync('mknod', ['-m', '0666', devNull, 'c', '1', '3']);
    odd.push({ flag: '--status-file', file: devNull, what: 'a device' });
  }
  for (const { flag, file, what } of odd) {
    const before = lstatSync(file);
    for (const command of flag === '--status-file' ? ['watch'] : ['watch', 'sync']) {
      const status = flag === '--status-file' || command === 'sync' ? [] : ['--status-file', path.join(w.root, 'status.json')];
      const r = await runCli([command, ...worldArgs(w), ...status, flag, file]);
      t.is(r.code, 111, `${command} ${flag}: ${r.stderr}`);
      t.true(
        r.stderr.includes(`${flag} ${file}: it is ${what}, not a regular file, and is never replaced; point ${flag} at a file`),
        r.stderr,
      );
      t.is(lstatSync(file).ino, before.ino, `${file} is untouched`);
      t.false(existsSync(`${file}.lock`), 'and no lock file is made beside it');
    }
  }
  // A directory at the path, or a metrics file whose directory is not there (a typo): refused too.
  const dir = path.join(w.root, 'a-dir');
  mkdirSync(dir);
  for (const [command, flag, file, why] of [
    ['watch', '--status-file', dir, 'it is a directory'],
    ['sync', '--metrics-file', dir, 'it is a directory'],
    [
      'sync',
      '--metrics-file',
      path.join(w.root, 'typo', 'rg.prom'),
      `its directory ${path.join(w.root, 'typo')} does not exist (create it, or correct the path)`,
    ],
  ] as const) {
    const r = await runCli([command, ...worldArgs(w), flag, file]);
    t.is(r.code, 111, `${command} ${flag} ${file}: ${r.stderr}`);
    t.true(r.stderr.includes(`${flag} ${file}: ${why}; point ${flag} at a file in an existing directory`), r.stderr);
  }
  t.deepEqual(readdirSync(w.scandir), [], 'nothing ran');
  // --diff writes no metrics file: nothing to refuse.
  const preview = await runCli(['sync', ...worldArgs(w), '--diff', '--metrics-file', fifo]);
  t.is(preview.code, 1, preview.stderr);
});

test("a metrics file beside the status file, in the directory the watcher makes, is not refused; a dashboard's watcher checks its metrics file too", async (t) => {
  const w = await makeWorld('watch-paths-beside');
  writeProfiles(w.home, { alice: 'running' });
  const dir = path.join(w.root, 'run-rg');
  const watch = startCli(
    [
      'watch',
      ...worldArgs(w),
      '--interval',
      '3600',
      '--status-file',
      path.join(dir, 'status.json'),
      '--metrics-file',
      path.join(dir, 'rg.prom'),
    ],
    { timeoutMs: Infinity },
  );
  t.teardown(() => killGroup(watch.child, 'SIGKILL'));
  await waitFor(() => existsSync(path.join(dir, 'rg.prom')), 60_000, 'the metrics file beside the status file');
  killGroup(watch.child, 'SIGTERM');
  t.is((await watch.done).code, 0);

  const typo = path.join(w.root, 'typo', 'rg.prom');
  const idle = await runCli(['watch', ...worldArgs(w), '--role', 'dashboard', '--metrics-file', typo]);
  t.is(idle.code, 111, idle.stderr);
  t.true(idle.stderr.includes(`--metrics-file ${typo}: its directory ${path.dirname(typo)} does not exist`), idle.stderr);
});
