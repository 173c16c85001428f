/**
 * `watch` as an operator lives with it: a second watcher with the same status file exits 3 and
 * says why; `status` and `watch` find the status file through RECONCILE_GATEWAYS_STATUS_FILE; a
 * warning is logged once while it persists, not again after every full pass.
 */
import test from 'ava';
import path from 'node:path';
import { waitFor } from '../../helpers/s6.js';
import { makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { runCli, writeState } from '../../helpers/cli.js';
import { readStatus, readiness, startWatch, waitStatus } from '../../helpers/watcher.js';
import { needsS6 } from '../../helpers/needs.js';

const RUNNING = { desired_state: 'running' };
test.after.always('stop watchers and s6, remove temp dirs', removeS6Worlds);

needsS6(test)(
  'a second watch with the same status file exits 3 with a clear message; status reads RECONCILE_GATEWAYS_STATUS_FILE',
  async (t) => {
    const env = await makeS6World('live', { profiles: { a: RUNNING } });
    const first = startWatch(env);
    await readiness(first);
    const second = await runCli(['watch', ...env.flags, '--interval', '300'], {
      env: { RECONCILE_GATEWAYS_STATUS_FILE: first.statusFile },
    });
    t.is(second.code, 3, second.stderr);
    t.is(
      second.stderr.split('\n')[0],
      `reconcile-gateways: error: another watch is already running with status file ${first.statusFile} (pid ${first.child.pid ?? -1} by its status file; it holds ${first.statusFile}.lock); stop it first (one watcher per scandir is enough: passes share the run lock); a watcher of other trees needs its own --status-file`,
    );
    t.is(first.child.exitCode, null, 'the first watcher is untouched');

    const status = await runCli(['status', ...env.flags, '--output', 'json'], {
      env: { RECONCILE_GATEWAYS_STATUS_FILE: first.statusFile },
    });
    t.is(status.code, 0, status.stderr);
    t.like(JSON.parse(status.stdout), { watcher: { state: 'present', statusFile: first.statusFile, running: true } });
    first.child.kill('SIGTERM');
    t.is(await first.exited, 0);
    // Its log says when it ran, though every pass was quiet (converged passes print no line).
    t.regex(
      first.stderr,
      new RegExp(
        `^reconcile-gateways: info: watch started: re-syncs on changes and every 300s; status file ${first.statusFile} \\[pid=\\d+\\]$`,
        'm',
      ),
    );
    // 'exit' may come before the last of stderr has been read: wait for the line, not for a time.
    await waitFor(() => first.stderr.includes('watch stopped'), 30_000, 'the stop line');
    t.regex(first.stderr, /^reconcile-gateways: info: watch stopped by SIGTERM \[pid=\d+\]$/m);
  },
);

needsS6(test)('a persisting warning is logged once, not again after a targeted and a full pass; a new one is logged', async (t) => {
  const env = await makeS6World('live', { profiles: { a: RUNNING, BadName: RUNNING } });
  const w = startWatch(env);
  await readiness(w);
  await env.waitUp('a');
  writeState(path.join(env.home, 'profiles/a/gateway_state.json'), { desired_state: 'stopped' });
  await waitStatus(w, (d) => (d['lastPass'] as { scope: string }).scope === 'targeted', 'a targeted pass');
  w.child.kill('SIGHUP');
  await waitStatus(w, (d) => (d['lastPass'] as { trigger: string }).trigger === 'signal', 'the SIGHUP full pass');
  await env.profile('Other', RUNNING);
  await waitFor(() => w.stderr.includes('profiles/Other:'), 30_000, 'the new warning');
  const seen = (readStatus(w)?.['passes'] as number | undefined) ?? 0;
  w.child.kill('SIGHUP');
  await waitStatus(
    w,
    (d) => (d['passes'] as number) > seen && (d['lastPass'] as { trigger: string }).trigger === 'signal',
    'one more full pass',
  );
  const warnings = w.stderr.split('\n').filter((l) => l.includes('warn: '));
  t.is(warnings.filter((l) => l.includes('profiles/BadName:')).length, 1, w.stderr);
  t.is(warnings.filter((l) => l.includes('profiles/Other:')).length, 1, w.stderr);
  w.child.kill('SIGTERM');
  t.is(await w.exited, 0);
});
