/**
 * `boot --diff`: prints the plan the real run would apply and changes nothing anywhere — no slot,
 * no directory, no lock file, no sweep, no boot-log line. Exit 1 with changes pending, 0 when
 * converged; an update shows a unified diff of the file it rewrites.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { bootArgs, bootJson, runCli, sandbox } from '../../helpers/cli.js';
import { diffSnapshots, makeHermesHome, snapshotTree, writeFileTree } from '../../helpers/tree.js';

async function staleHome(home: string): Promise<void> {
  await makeHermesHome(home, { coder: { state: { gateway_state: 'running' } } }, { gateway_state: 'stopped' });
  await writeFileTree(home, { 'gateway.pid': '41\n', 'processes.json': '[]', 'profiles/coder/gateway.pid': '42\n' });
}

test('S59 --diff on a fresh system exits 1, prints the plan, and changes nothing anywhere', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await staleHome(box.home);
  const before = await snapshotTree(box.root);
  const r = await runCli(bootArgs(box.home, box.scandir, '--diff'));
  t.is(r.code, 1, r.stderr);
  t.deepEqual(r.stdout.split('\n'), [
    'gateway-coder sweep: stale runtime files of the previous container (profiles/coder/gateway.pid)',
    'gateway-coder create: slot missing (starts)',
    'gateway-default sweep: stale runtime files of the previous container (gateway.pid, processes.json)',
    'gateway-default create: slot missing (registered down)',
    'reconcile: plan create=2 update=0 restart=0 up=0 down=0 remove=0 purge=0 sweep=2 cleanup=0 seed=0 restart_pending=0 boot_log_lines=2 (dry run: nothing changed)',
    '',
  ]);
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), [], 'no scandir, no lock file, no boot log, pid files kept');
  t.true(
    r.stderr.includes(
      `warn: scandir ${box.scandir} does not exist, so no slot is there yet (boot creates it); if it should exist, point --scandir`,
    ),
    r.stderr,
  );
});

test('--diff --output json reports the same decisions with dryRun and no statuses', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await staleHome(box.home);
  const before = await snapshotTree(box.root);
  const r = await bootJson(box.home, box.scandir, ['--diff']);
  t.is(r.code, 1);
  t.true((await loadValidators()).validatePlan(r.doc));
  t.like(r.doc, { dryRun: true, mode: 'boot', exitCode: 1 });
  t.deepEqual(
    (r.doc['profiles'] as { profile: string; action: string }[]).map((p) => [p.profile, p.action]),
    [
      ['default', 'registered'],
      ['coder', 'started'],
    ],
  );
  const sweep = 'stale runtime files of the previous container';
  t.deepEqual(r.doc['operations'], [
    { kind: 'sweep', service: 'gateway-coder', profile: 'coder', reason: sweep, files: ['profiles/coder/gateway.pid'] },
    {
      kind: 'create',
      service: 'gateway-coder',
      profile: 'coder',
      reason: 'slot missing',
      files: ['.reconcile-gateways.json', 'finish', 'log/run', 'run', 'type'],
      starts: true,
    },
    { kind: 'sweep', service: 'gateway-default', profile: 'default', reason: sweep, files: ['gateway.pid', 'processes.json'] },
    {
      kind: 'create',
      service: 'gateway-default',
      profile: 'default',
      reason: 'slot missing',
      files: ['.reconcile-gateways.json', 'down', 'finish', 'log/run', 'run', 'type'],
      starts: false,
    },
  ]);
  t.is(r.doc['bootLogLines'], 2);
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), []);
});

test('--diff on a converged system exits 0 and touches nothing; a re-added stale pid is planned as a sweep', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await staleHome(box.home);
  t.is((await runCli(bootArgs(box.home, box.scandir))).code, 0);
  const converged = await runCli(bootArgs(box.home, box.scandir, '--diff'));
  t.is(converged.code, 0, converged.stdout);
  t.deepEqual(converged.stdout.split('\n'), [
    'reconcile: plan create=0 update=0 restart=0 up=0 down=0 remove=0 purge=0 sweep=0 cleanup=0 seed=0 restart_pending=0 boot_log_lines=2 (dry run: nothing changed)',
    '',
  ]);
  await writeFile(path.join(box.home, 'gateway.pid'), '43\n');
  const before = await snapshotTree(box.root);
  const r = await runCli(bootArgs(box.home, box.scandir, '--diff'));
  t.is(r.code, 1, 'boot --diff shows the sweep boot would do (issue 11)');
  t.true(r.stdout.split('\n').includes('gateway-default sweep: stale runtime files of the previous container (gateway.pid)'), r.stdout);
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), []);
});

test('--diff shows a unified diff for an update of a modified run, without colour off a TTY', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  await runCli(bootArgs(box.home, box.scandir));
  const run = path.join(box.scandir, 'gateway-coder/run');
  await writeFile(run, '#!/bin/sh\nexec stale\n', { mode: 0o755 });
  const before = await snapshotTree(box.root);
  const r = await runCli(bootArgs(box.home, box.scandir, '--diff'));
  t.is(r.code, 1, r.stderr);
  const lines = r.stdout.split('\n');
  t.is(lines[0], 'gateway-coder update: run write');
  t.true(lines.includes('--- a/gateway-coder/run'));
  t.true(lines.includes('+++ b/gateway-coder/run'));
  t.true(lines.some((l) => /^@@ -\d+(,\d+)? \+\d+(,\d+)? @@/.test(l)));
  t.true(lines.includes('-exec stale'));
  t.true(lines.includes('+exec s6-setuidgid hermes hermes -p coder gateway run --replace'));
  t.false(r.stdout.includes('\u001b['), 'no ANSI colour when stdout is not a TTY');
  t.regex(lines.at(-2) ?? '', /^reconcile: plan create=0 update=1 /);
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), []);
});

test('--diff validates names before anything: an invalid profile is skipped, exit still reflects the rest', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { BadName: { state: { gateway_state: 'running' } } });
  await runCli(bootArgs(box.home, box.scandir));
  const r = await bootJson(box.home, box.scandir, ['--diff']);
  t.is(r.code, 0);
  t.like((r.doc['profiles'] as unknown[])[1], {
    profile: 'BadName',
    action: 'skipped',
    reason: 'invalid-name: name does not match ^[a-z0-9][a-z0-9_-]*$',
  });
  t.true(r.stderr.includes('profiles/BadName: skipped: invalid profile name'));
});

test('warnings reach stderr at --log-level warn, not at error; stdout carries results only', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: '{ broken' } });
  const r = await runCli(bootArgs(box.home, box.scandir, '--diff', '--log-level', 'warn'));
  t.is(r.code, 1);
  t.regex(r.stderr, /^reconcile-gateways: warn: could not read .*profiles\/coder\/gateway_state\.json .*treating as no prior state/m);
  t.false(r.stdout.includes('warn'));
  const quiet = await runCli(bootArgs(box.home, box.scandir, '--diff', '--log-level', 'error'));
  t.is(quiet.code, 1);
  t.is(quiet.stderr, '', 'an operator who asked for errors only gets no warning');
  t.is(quiet.stdout, r.stdout, 'the plan on stdout is the same');
});

test('boot --diff lists the sweep, cleanup and seed operations and exits 1; after boot, boot --diff exits 0 (issue 11)', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  await writeFileTree(box.home, { 'gateway.pid': '41\n' });
  await writeFileTree(box.scandir, { '.gateway-x.tmp/run': '#!/bin/sh\n' });
  const legacy = ['--container-argv', '["gateway","run"]'];
  const before = await snapshotTree(box.root);
  const r = await bootJson(box.home, box.scandir, ['--diff', ...legacy]);
  t.is(r.code, 1, r.stderr);
  t.true((await loadValidators()).validatePlan(r.doc));
  const ops = (r.doc['operations'] as { kind: string; service: string; files?: string[] }[]).map((o) => [o.kind, o.service, o.files]);
  t.deepEqual(
    ops.filter(([kind]) => kind !== 'create'),
    [
      ['seed', 'gateway-default', ['gateway_state.json']],
      ['sweep', 'gateway-default', ['gateway.pid']],
      ['cleanup', 'gateway-x', ['.gateway-x.tmp']],
    ],
  );
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), [], '--diff changed nothing');
  const boot = await runCli(bootArgs(box.home, box.scandir, ...legacy));
  t.is(boot.code, 0, boot.stderr);
  for (const kind of ['seed', 'sweep', 'cleanup']) t.true(boot.stdout.includes(`kind=${kind} `), `${kind} line in ${boot.stdout}`);
  const again = await runCli(bootArgs(box.home, box.scandir, '--diff', ...legacy));
  t.is(again.code, 0, again.stdout);
});
