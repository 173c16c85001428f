/**
 * `--output json`: one document on stdout, valid against schemas/plan.schema.json (checked with
 * the precompiled validator) for a plan, a partial failure, and the error documents of exits
 * 3, 100 and 111.
 */
import test from 'ava';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { bootJson, runCli, bootArgs, sandbox } from '../../helpers/cli.js';
import { diffSnapshots, makeHermesHome, snapshotTree } from '../../helpers/tree.js';

const validators = await loadValidators();

function valid(doc: unknown): boolean {
  const ok = validators.validatePlan(doc);
  if (!ok) throw new Error(`plan.schema.json: ${JSON.stringify(validators.validatePlan.errors)}`);
  return ok;
}

test('a normal plan is valid and complete', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'draining' } }, Bad: {} });
  const r = await bootJson(box.home, box.scandir);
  t.is(r.code, 0);
  t.true(valid(r.doc));
  t.like(r.doc, { formatVersion: '2', mode: 'boot', dryRun: false, hermesHome: box.home, scandir: box.scandir, exitCode: 0 });
  t.deepEqual(r.doc['profiles'], [
    { profile: 'default', service: 'gateway-default', priorState: null, autostart: false, action: 'registered', priorExit: 'unknown' },
    {
      profile: 'Bad',
      service: null, // an invalid name names no slot
      priorState: null,
      autostart: false,
      action: 'skipped',
      reason: 'invalid-name: name does not match ^[a-z0-9][a-z0-9_-]*$',
      priorExit: 'unknown',
    },
    { profile: 'coder', service: 'gateway-coder', priorState: 'running', autostart: true, action: 'started', priorExit: 'unknown' },
  ]);
  t.deepEqual(
    (r.doc['operations'] as { kind: string; service: string; status: string }[]).map((o) => [o.kind, o.service, o.status]),
    [
      ['create', 'gateway-coder', 'applied'],
      ['create', 'gateway-default', 'applied'],
    ],
  );
  t.deepEqual(r.doc['summary'], {
    create: 2,
    update: 0,
    restart: 0,
    up: 0,
    down: 0,
    remove: 0,
    purge: 0,
    heal: 0,
    pickup: 0,
    sweep: 0,
    cleanup: 0,
    seed: 0,
    failed: 0,
    restartPending: 0,
  });
  t.is(r.stdout.trim().split('\n').length, 1, 'exactly one JSON document on one line');
});

test('status --output json gives a profile whose invalid name names no slot no service, even beside a hand-made directory of that name', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { Bad: {}, 'My Profile': {}, coder: { state: { gateway_state: 'running' } } });
  await mkdir(path.join(box.scandir, 'gateway-Bad'), { recursive: true });
  await writeFile(path.join(box.scandir, 'gateway-Bad', 'run'), '#!/bin/sh\n', { mode: 0o755 });
  const r = await runCli(['status', '--hermes-home', box.home, '--scandir', box.scandir, '--container-argv', '[]', '--output', 'json']);
  t.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { profiles: { profile: string; service: string | null }[] };
  t.true(validators.validateStatusReport?.(doc), JSON.stringify(validators.validateStatusReport?.errors));
  const services = Object.fromEntries(doc.profiles.map((p) => [p.profile, p.service]));
  t.like(services, { 'My Profile': null, Bad: null, coder: 'gateway-coder', default: 'gateway-default' });
});

test('relative --hermes-home and --scandir are reported as absolute paths, in the plan and in the status report', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  const cwd = path.dirname(box.home);
  const rel = [path.relative(cwd, box.home), path.relative(cwd, box.scandir)] as const;
  t.false(path.isAbsolute(rel[0]));
  const plan = await bootJson(rel[0], rel[1], ['--diff'], { cwd });
  t.is(plan.code, 1, plan.stderr);
  t.true(valid(plan.doc));
  // The child resolves against its working directory as the kernel names it (symlinks resolved).
  const real = { hermesHome: path.join(realpathSync(cwd), rel[0]), scandir: path.join(realpathSync(cwd), rel[1]) };
  t.like(plan.doc, real);
  const status = await runCli(['status', '--hermes-home', rel[0], '--scandir', rel[1], '--container-argv', '[]', '--output', 'json'], {
    cwd,
  });
  t.is(status.code, 0, status.stderr);
  const doc = JSON.parse(status.stdout) as unknown;
  t.true(validators.validateStatusReport?.(doc), JSON.stringify(validators.validateStatusReport?.errors));
  t.like(doc, real);
});

test('a regular file squatting on a slot fails that create only, exit 2, and a rerun converges once it is gone', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } }, writer: {} });
  await mkdir(box.scandir, { recursive: true });
  const squat = path.join(box.scandir, 'gateway-coder');
  await writeFile(squat, 'not a slot\n');
  const preview = await bootJson(box.home, box.scandir, ['--diff']);
  t.is(preview.code, 2, 'the preview predicts the failure');
  t.like(preview.doc, { dryRun: true, exitCode: 2 });
  const r = await bootJson(box.home, box.scandir);
  t.is(r.code, 2);
  t.true(valid(r.doc));
  const ops = r.doc['operations'] as { service: string; status: string; error?: string; reason: string }[];
  t.deepEqual(
    ops.map((o) => [o.service, o.status]),
    [
      ['gateway-coder', 'failed'],
      ['gateway-default', 'applied'],
      ['gateway-writer', 'applied'],
    ],
  );
  t.is(ops[0]?.reason, 'slot path is a file, not a directory: move or delete it');
  t.regex(ops[0]?.error ?? '', /gateway-coder/);
  t.like(r.doc, { exitCode: 2, summary: { create: 3, update: 0, up: 0, down: 0, remove: 0, failed: 1, restartPending: 0 } });
  t.is(await readFile(squat, 'utf8'), 'not a slot\n', 'the foreign file is left as it was');
  t.true((await lstat(path.join(box.scandir, 'gateway-writer/run'))).isFile());

  await rm(squat);
  const again = await bootJson(box.home, box.scandir);
  t.is(again.code, 0);
  t.deepEqual(
    (again.doc['operations'] as { service: string; status: string }[]).map((o) => [o.service, o.status]),
    [['gateway-coder', 'applied']],
  );
  t.deepEqual((await bootJson(box.home, box.scandir)).doc['operations'], []);
});

test('a missing HERMES_HOME is fatal (111) with an error document, and nothing is created', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const missing = path.join(box.root, 'nope');
  const before = await snapshotTree(box.root);
  const r = await bootJson(missing, box.scandir);
  t.is(r.code, 111);
  t.true(valid(r.doc));
  t.like(r.doc, { formatVersion: '2', error: { code: 'fatal', exitCode: 111 } });
  t.regex((r.doc['error'] as { message: string }).message, /HERMES_HOME .*nope is missing/);
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), [], 'neither HERMES_HOME nor the scandir was created');
  const text = await runCli(bootArgs(missing, box.scandir));
  t.is(text.code, 111);
  t.is(text.stdout, '');
  t.regex(text.stderr, /^reconcile-gateways: error: HERMES_HOME/);
});

test('a HERMES_HOME that is a file is fatal (111)', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const file = path.join(box.root, 'file');
  await writeFile(file, '');
  const r = await bootJson(file, box.scandir);
  t.is(r.code, 111);
  t.true(valid(r.doc));
});

test('a scandir path that is a regular file is fatal (111) and left alone', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(path.dirname(box.scandir), { recursive: true });
  await writeFile(box.scandir, 'x');
  const before = await snapshotTree(box.root);
  const r = await bootJson(box.home, box.scandir);
  t.is(r.code, 111);
  t.true(valid(r.doc));
  t.like(r.doc, { error: { code: 'fatal', exitCode: 111 } });
  t.regex((r.doc['error'] as { message: string }).message, /exists but is not a directory/);
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), [], 'no lock file, no boot log');
});

test('a usage error with --output json prints an error document (100)', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const r = await bootJson(box.home, box.scandir, ['--bogus']);
  t.is(r.code, 100);
  t.true(valid(r.doc));
  t.like(r.doc, { error: { code: 'usage', exitCode: 100 } });
});

test('a usage error follows the last --output given, as a run does: text after json prints one stderr line, no document', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const text = await runCli(bootArgs(box.home, box.scandir, '--output', 'json', '--output=text', '--bogus'));
  t.is(text.code, 100);
  t.is(text.stdout, '');
  t.regex(text.stderr, /^reconcile-gateways: error: .*--bogus/);
  const json = await runCli(bootArgs(box.home, box.scandir, '--output=text', '--output', 'json', '--bogus'));
  t.is(json.code, 100);
  t.like(JSON.parse(json.stdout), { error: { code: 'usage', exitCode: 100 } });
});
