/** `boot` run in-process on a temp HERMES_HOME and scandir. */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { runBoot } from '../../../../src/cli/commands/boot.js';
import { runSync } from '../../../../src/cli/commands/sync.js';
import { captureIo, linesOf, recordingLogger, world } from '../support.js';

async function boot(w: Awaited<ReturnType<typeof world>>, ...extra: string[]) {
  const io = captureIo();
  const code = await runBoot(w.args('boot', ...extra), io, recordingLogger().logger);
  return { code, out: io.out() };
}

test('boot registers every profile’s slot and prints upstream’s per-profile lines', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' }, b: { desired_state: 'stopped' } });
  const r = await boot(w);
  t.is(r.code, 0);
  const lines = linesOf(r.out);
  t.true(lines.includes('reconcile: profile=a prior_state=running action=started prior_exit=unknown'));
  t.true(lines.includes('reconcile: profile=b prior_state=stopped action=registered prior_exit=unknown'));
  for (const s of ['gateway-a', 'gateway-b', 'gateway-default']) t.true(fs.existsSync(path.join(w.scandir, s, 'run')), s);
});

test('boot never prunes: a slot whose profile is gone stays', async (t) => {
  const w = await world(t, { a: {}, old: {} });
  await boot(w);
  fs.rmSync(path.join(w.home, 'profiles', 'old'), { recursive: true });
  const r = await boot(w);
  t.is(r.code, 0);
  t.false(r.out.includes('kind=remove'));
  t.true(fs.existsSync(path.join(w.scandir, 'gateway-old')));
  // sync, the live re-sync, does prune it.
  await runSync(w.args('sync'), captureIo(), recordingLogger().logger);
  t.false(fs.existsSync(path.join(w.scandir, 'gateway-old')));
});

test('boot sweeps the previous container’s runtime files', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const pid = path.join(w.home, 'profiles', 'a', 'gateway.pid');
  fs.writeFileSync(pid, '4242\n');
  const r = await boot(w);
  t.is(r.code, 0);
  t.false(fs.existsSync(pid));
  t.true(r.out.includes('service=gateway-a kind=sweep'));
});

test('boot --diff reports the boot log lines it would write and changes nothing', async (t) => {
  const w = await world(t, { a: {} }, { scandir: 'missing' });
  const r = await boot(w, '--diff');
  t.is(r.code, 1);
  t.regex(linesOf(r.out).at(-1) ?? '', / boot_log_lines=\d+ \(dry run: nothing changed\)$/);
  t.false(fs.existsSync(w.scandir));
});
