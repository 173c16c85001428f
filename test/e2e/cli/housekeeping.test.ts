/**
 * What boot does besides slots: the stale-file sweep (S06, S33), upstream staging leftovers
 * (S37), our own staging leftovers, and escaping of control characters in names in every
 * line-oriented output (stdout, stderr, the boot log).
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bootArgs, bootJson, runCli, sandbox } from '../../helpers/cli.js';
import { makeHermesHome, writeFileTree } from '../../helpers/tree.js';
import { makeWorld, worldArgs, writeConfig, writeProfile } from '../../helpers/world.js';

const STALE = ['gateway.pid', 'processes.json'];

async function staleFixture(home: string): Promise<string[]> {
  await makeHermesHome(home, { coder: { state: { gateway_state: 'stopped' } }, runner: { state: { gateway_state: 'running' } }, Bad: {} });
  const dirs = [home, 'profiles/coder', 'profiles/runner', 'profiles/Bad'].map((d) => path.resolve(home, d));
  for (const dir of dirs) for (const f of STALE) await writeFile(path.join(dir, f), '1\n');
  return dirs;
}

test('S06/S33 boot deletes gateway.pid and processes.json at the root and in every valid profile', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const [root, coder, runner, bad] = await staleFixture(box.home);
  t.is((await runCli(bootArgs(box.home, box.scandir))).code, 0);
  for (const dir of [root, coder, runner]) for (const f of STALE) t.false(existsSync(path.join(dir ?? '', f)), `${dir}/${f}`);
  for (const f of STALE) t.true(existsSync(path.join(bad ?? '', f)), 'a skipped (invalid) profile is not touched');
});

test('sync never sweeps stale runtime files', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(box.scandir, { recursive: true });
  const dirs = await staleFixture(box.home);
  const r = await runCli(['sync', ...bootArgs(box.home, box.scandir).slice(1)]);
  t.is(r.code, 0, r.stderr);
  for (const dir of dirs) for (const f of STALE) t.true(existsSync(path.join(dir, f)));
});

test('S37 boot removes upstream staging leftovers and our own, and nothing else with a dot', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  await writeFileTree(box.scandir, {
    '.gateway-coder.tmp/stale-file': 'x',
    '.gateway-gone.tmp/run': 'x',
    '.reconcile-gateways/staging.4194305/s0/run': 'x',
    '.gateway-Bad.tmp/keep': 'x',
    '.other/keep': 'x',
  });
  await chmod(path.join(box.scandir, '.reconcile-gateways'), 0o700);
  const r = await bootJson(box.home, box.scandir);
  t.is(r.code, 0, r.stderr);
  t.deepEqual((await readdir(box.scandir)).sort(), [
    '.gateway-Bad.tmp',
    '.other',
    '.reconcile-gateways',
    'gateway-coder',
    'gateway-default',
  ]);
  t.deepEqual(await readdir(path.join(box.scandir, '.reconcile-gateways')), ['lock'], "the dead run's staging directory is gone");
});

test('sync clears only its own staging leftovers, not upstream ones', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await writeFileTree(box.scandir, { '.gateway-coder.tmp/stale-file': 'x', '.reconcile-gateways/staging.4194305/s0/run': 'x' });
  await chmod(path.join(box.scandir, '.reconcile-gateways'), 0o700);
  t.is((await runCli(['sync', ...bootArgs(box.home, box.scandir).slice(1)])).code, 0);
  t.deepEqual((await readdir(box.scandir)).sort(), ['.gateway-coder.tmp', '.reconcile-gateways', 'gateway-default']);
  t.deepEqual(await readdir(path.join(box.scandir, '.reconcile-gateways')), ['lock']);
});

// A name that, printed raw, would end the line and forge a whole boot-log record.
const FORGED = 'x\n2026-09-21T10:00:00+0000 profile=forged prior_state=running action=started prior_exit=unknown';

test('control characters in profile names are escaped on stdout, stderr and in the boot log', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: {} });
  for (const name of ['bad\nname', FORGED, 'tab\there\u001b[31m']) {
    await mkdir(path.join(box.home, 'profiles', name));
    await writeFile(path.join(box.home, 'profiles', name, 'SOUL.md'), 'soul\n');
  }
  const r = await runCli(bootArgs(box.home, box.scandir));
  t.is(r.code, 0, 'invalid names alone never fail the pass');
  const out = r.stdout.trimEnd().split('\n');
  t.is(out.length, 8, 'default, 3 skipped, coder, two creates, summary: no extra line');
  t.true(
    out.every((l) => l.startsWith('reconcile: ')),
    r.stdout,
  );
  t.true(
    out.includes(
      'reconcile: profile=bad\\nname prior_state=None action=skipped prior_exit=unknown reason="invalid-name: name does not match ^[a-z0-9][a-z0-9_-]*$"',
    ),
  );
  t.false(/[\u0000-\u0009\u000b-\u001f]/.test(r.stdout), 'no raw control character on stdout');
  const err = r.stderr.trimEnd().split('\n');
  t.true(
    err.every((l) => l.startsWith('reconcile-gateways: ')),
    r.stderr,
  );
  t.is(err.length, 3);
  t.false(/[\u0000-\u0009\u000b-\u001f]/.test(r.stderr));
  const log = (await readFile(path.join(box.home, 'logs/container-boot.log'), 'utf8')).trimEnd().split('\n');
  t.is(log.length, 5);
  t.true(log.every((l) => /^\S+ profile=/.test(l)));
  t.false(
    log.some((l) => /^\S+ profile=forged /.test(l)),
    'no forged record',
  );
  // The name holds spaces and `=`, so it is quoted too: it cannot pose as the record's fields.
  t.true(
    log.some((l) =>
      l.includes(
        'profile="x\\n2026-09-21T10:00:00+0000 profile=forged prior_state=running action=started prior_exit=unknown" prior_state=None',
      ),
    ),
  );
});

test('slots of ours left by an earlier servicePrefix are named in a warning and never touched', async (t) => {
  const w = await makeWorld('prefix');
  t.teardown(() => rm(w.root, { recursive: true, force: true }));
  writeProfile(w.home, 'coder', { desired_state: 'running' });
  t.is((await runCli(['sync', ...worldArgs(w)])).code, 0);
  const before = await readFile(path.join(w.scandir, 'gateway-coder', 'run'));
  writeConfig(w, { servicePrefix: 'gw-' });
  const r = await runCli(['sync', ...worldArgs(w)]);
  t.is(r.code, 0, r.stderr);
  t.true(
    r.stderr.includes(
      'warn: gateway-coder and gateway-default: slots of reconcile-gateways (their ownership record says so) for profiles of this pass, not named with the service prefix "gw-", left alone; ' +
        'if servicePrefix changed, their gateways run beside the new slots: move them out of the scandir, then run s6-svscanctl -an on the scandir',
    ),
    r.stderr,
  );
  t.deepEqual((await readdir(w.scandir)).filter((n) => !n.startsWith('.')).sort(), [
    'gateway-coder',
    'gateway-default',
    'gw-coder',
    'gw-default',
  ]);
  t.deepEqual(await readFile(path.join(w.scandir, 'gateway-coder', 'run')), before);
  const status = await runCli(['status', ...worldArgs(w), '--output', 'json']);
  t.regex(status.stdout, /gateway-coder and gateway-default: slots of reconcile-gateways/, 'status shows it too');
});

test('a new service prefix that begins the old names (gateway- to gate) neither adopts nor prunes the old slots: it warns', async (t) => {
  const w = await makeWorld('prefix-part');
  t.teardown(() => rm(w.root, { recursive: true, force: true }));
  writeProfile(w.home, 'coder', { desired_state: 'running' });
  t.is((await runCli(['sync', ...worldArgs(w)])).code, 0);
  writeConfig(w, { servicePrefix: 'gate' });
  const r = await runCli(['sync', ...worldArgs(w)]);
  t.is(r.code, 0, r.stderr);
  t.notRegex(r.stdout, /kind=remove/, 'gateway-coder reads as a slot of profile "way-coder", yet its record says coder: not ours to prune');
  t.regex(r.stderr, /warn: gateway-coder and gateway-default: slots of reconcile-gateways .* not named with the service prefix "gate"/);
  t.deepEqual((await readdir(w.scandir)).filter((n) => !n.startsWith('.')).sort(), [
    'gatecoder',
    'gatedefault',
    'gateway-coder',
    'gateway-default',
  ]);
});

test('a control character in a state file value is escaped once in the warning that names it', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'x\u001b[31mRED\u202e' } } });
  await mkdir(box.scandir, { recursive: true });
  const r = await runCli(['sync', '--diff', ...bootArgs(box.home, box.scandir).slice(1)]);
  const line = r.stderr.split('\n').find((l) => l.includes('desired_state "'));
  t.true(line?.includes('desired_state "x\\x1b[31mRED\\u202e" is neither "running" nor "stopped"'), r.stderr);
  t.false(/[\u0000-\u0009\u000b-\u001f\u202e]/.test(r.stderr), 'nothing raw reaches the terminal');
});
