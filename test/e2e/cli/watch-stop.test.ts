/**
 * A watcher stopped cleanly (SIGTERM, SIGINT) records its stop in the status file, so `status`
 * tells it from a watcher that was killed or crashed, which records nothing.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { killGroup, makeWorld, removeWorlds, runCli, startCli, worldArgs, writeProfiles } from '../../helpers/cli.js';
import { holdLock } from '../../helpers/lock.js';
import { waitFor } from '../../helpers/s6.js';

test.after.always('remove temp dirs', removeWorlds);

async function watchUntilFirstPass(t: import('ava').ExecutionContext, name: string) {
  const w = await makeWorld(name);
  writeProfiles(w.home, { alice: 'running' });
  const statusFile = path.join(w.root, 'status.json');
  const watch = startCli(['watch', ...worldArgs(w), '--container-argv', '[]', '--interval', '3600', '--status-file', statusFile], {
    timeoutMs: Infinity,
  });
  t.teardown(() => killGroup(watch.child, 'SIGKILL'));
  // The file appears as the watcher starts; wait for its first pass.
  const passes = (): number => (JSON.parse(readFileSync(statusFile, 'utf8')) as { passes: number }).passes;
  await waitFor(() => existsSync(statusFile) && passes() >= 1, 60_000, 'the first pass');
  const status = async (): Promise<{ lines: string[]; json: Record<string, unknown> }> => {
    const text = await runCli(['status', ...worldArgs(w), '--status-file', statusFile], { env: { COLUMNS: '1000' } });
    t.is(text.code, 0, text.stderr);
    const json = await runCli(['status', ...worldArgs(w), '--status-file', statusFile, '--output', 'json']);
    t.is(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as Record<string, unknown>;
    const { validateStatusReport } = await loadValidators();
    t.true(validateStatusReport?.(doc), JSON.stringify(validateStatusReport?.errors));
    return { lines: text.stdout.split('\n'), json: doc };
  };
  return { watch, statusFile, status };
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a watcher stopped by ${signal} records the stop, and status says so`, async (t) => {
    const { watch, statusFile, status } = await watchUntilFirstPass(t, `watch-stop-${signal}`);
    killGroup(watch.child, signal);
    t.is((await watch.done).code, 0);
    const file = JSON.parse(readFileSync(statusFile, 'utf8')) as { pid: number; passes: number; stopped?: { at: string; by: string } };
    const { validateStatusFile } = await loadValidators();
    t.true(validateStatusFile?.(file), JSON.stringify(validateStatusFile?.errors));
    t.is(file.stopped?.by, signal);
    t.true(file.passes >= 1, 'the last pass is kept');
    const { lines, json } = await status();
    t.true(
      lines.some((l) => l.startsWith(`watcher: pid ${file.pid} stopped by ${signal} at ${file.stopped?.at ?? '?'} (`)),
      lines.join('\n'),
    );
    t.false(
      lines.some((l) => l.includes('next full pass')),
      'a stopped watcher promises no next pass',
    );
    t.like(json['watcher'], { state: 'present', running: false, stopped: { by: signal } });
  });
}

test('a killed watcher records nothing, and status says it exited without a clean stop', async (t) => {
  const { watch, statusFile, status } = await watchUntilFirstPass(t, 'watch-killed');
  killGroup(watch.child, 'SIGKILL');
  await watch.done;
  const file = JSON.parse(readFileSync(statusFile, 'utf8')) as { pid: number; stopped?: unknown };
  t.is(file.stopped, undefined);
  const { lines, json } = await status();
  t.true(
    lines.includes(`watcher: pid ${file.pid} not running, and no clean stop recorded (killed or crashed?): see its log`),
    lines.join('\n'),
  );
  t.like(json['watcher'], { state: 'present', running: false });
  t.false('stopped' in (json['watcher'] as object));
});

test('a watcher waiting for the run lock is named at once, and a stop before its first pass is recorded', async (t) => {
  const w = await makeWorld('watch-stop-early');
  writeProfiles(w.home, { alice: 'running' });
  const statusFile = path.join(w.root, 'status.json');
  const lockFile = path.join(w.root, 'run.lock');
  await holdLock(t, lockFile); // another run holds the run lock for the whole test
  const watch = startCli(
    ['watch', ...worldArgs(w), '--container-argv', '[]', '--interval', '3600', '--status-file', statusFile, '--lock-file', lockFile],
    { timeoutMs: Infinity },
  );
  t.teardown(() => killGroup(watch.child, 'SIGKILL'));
  await waitFor(() => existsSync(statusFile), 60_000, 'the status file');
  const early = JSON.parse(readFileSync(statusFile, 'utf8')) as { pid: number; passes: number; ready: boolean; lastPass: unknown };
  t.like(early, { pid: watch.child.pid, passes: 0, ready: false, lastPass: null });
  const { validateStatusFile } = await loadValidators();
  t.true(validateStatusFile?.(early), JSON.stringify(validateStatusFile?.errors));
  const args = ['status', ...worldArgs(w), '--status-file', statusFile];
  const running = await runCli(args, { env: { COLUMNS: '1000' } });
  t.true(running.stdout.split('\n').includes(`watcher: pid ${early.pid} running; no pass completed yet`), running.stdout);

  killGroup(watch.child, 'SIGTERM');
  t.is((await watch.done).code, 0);
  const file = JSON.parse(readFileSync(statusFile, 'utf8')) as { passes: number; stopped?: { by: string; at: string } };
  t.true(validateStatusFile?.(file), JSON.stringify(validateStatusFile?.errors));
  t.like(file, { passes: 0, stopped: { by: 'SIGTERM' } });
  const stopped = await runCli(args, { env: { COLUMNS: '1000' } });
  t.true(stopped.stdout.includes(`\nwatcher: pid ${early.pid} stopped by SIGTERM at ${file.stopped?.at ?? '?'} (`), stopped.stdout);
  t.false(existsSync(path.join(w.scandir, 'gateway-alice')), 'no pass ran');
});
