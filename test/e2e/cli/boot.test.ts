/**
 * `reconcile-gateways boot` through the real CLI on temp dirs: byte-exact upstream renders,
 * explicit modes and owners (tests run as root, the CI situation), the supervise skeleton, and
 * idempotence (a second boot plans nothing and touches nothing).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { hermesIds } from '../../../src/observe/host.js';
import { MAIN, bootArgs, bootJson, runCli, sandbox, writeConfig } from '../../helpers/cli.js';
import { FINISH, LOG_RUN_CODER, LOG_RUN_DEFAULT, RUN_CODER, RUN_DEFAULT, TYPE } from '../../helpers/reference.js';
import { expectedLayout, layoutOf } from '../../helpers/slot-layout.js';
import { diffSnapshots, makeHermesHome, snapshotTree } from '../../helpers/tree.js';

const ids = hermesIds();
const SKELETON = `${ids.uid ?? 10000}:${ids.gid ?? 10000}`;

test('S09 boot renders byte-exact upstream slots and prints upstream lines', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  const r = await runCli(bootArgs(box.home, box.scandir));
  t.is(r.code, 0, r.stderr);
  t.deepEqual(r.stdout.split('\n'), [
    'reconcile: profile=default prior_state=None action=registered prior_exit=unknown',
    'reconcile: profile=coder prior_state=running action=started prior_exit=unknown',
    'reconcile: applied service=gateway-coder kind=create reason="slot missing"',
    'reconcile: applied service=gateway-default kind=create reason="slot missing"',
    'reconcile: summary profiles=2 create=2 update=0 restart=0 up=0 down=0 remove=0 purge=0 sweep=0 cleanup=0 seed=0 failed=0 restart_pending=0 exit=0',
    '',
  ]);
  const read = (svc: string, file: string): Promise<Buffer> => readFile(path.join(box.scandir, svc, file));
  t.deepEqual(await read('gateway-coder', 'type'), Buffer.from(TYPE));
  t.deepEqual(await read('gateway-coder', 'run'), Buffer.from(RUN_CODER));
  t.deepEqual(await read('gateway-coder', 'finish'), Buffer.from(FINISH));
  t.deepEqual(await read('gateway-coder', 'log/run'), Buffer.from(LOG_RUN_CODER));
  t.deepEqual(await read('gateway-default', 'type'), Buffer.from(TYPE));
  t.deepEqual(await read('gateway-default', 'run'), Buffer.from(RUN_DEFAULT));
  t.deepEqual(await read('gateway-default', 'finish'), Buffer.from(FINISH));
  t.deepEqual(await read('gateway-default', 'log/run'), Buffer.from(LOG_RUN_DEFAULT));
});

test('slots get explicit modes; scripts stay root-owned and the skeleton is root-owned with the default gid', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  t.is((await runCli(bootArgs(box.home, box.scandir))).code, 0);
  const snap = await snapshotTree(box.scandir);
  t.deepEqual(layoutOf(snap, 'gateway-default'), expectedLayout(true, SKELETON));
  t.deepEqual(layoutOf(snap, 'gateway-coder'), expectedLayout(false, SKELETON));
  t.deepEqual(
    [...snap.keys()].filter((p) => !p.includes('/')),
    ['.reconcile-gateways', 'gateway-coder', 'gateway-default'],
  );
});

test('superviseOwner user gives the skeleton to the default uid:gid, as upstream', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  const cfg = writeConfig(box, { superviseOwner: 'user' }, true);
  t.is((await runCli(bootArgs(box.home, box.scandir, '--config', cfg))).code, 0);
  const snap = await snapshotTree(box.scandir);
  t.deepEqual(layoutOf(snap, 'gateway-coder'), expectedLayout(false, SKELETON, '0:0', 'user'));
});

test('the skeleton owner follows config uid/gid and modes do not depend on the umask', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'stopped' } } });
  const cfg = writeConfig(box, { uid: 4242, gid: 4343 }, true);
  const args = bootArgs(box.home, box.scandir, '--config', cfg)
    .map((a) => `'${a}'`)
    .join(' ');
  const r = spawnSync('sh', ['-c', `umask 077; exec '${process.execPath}' '${MAIN}' ${args}`], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '' },
  });
  t.is(r.status, 0, r.stderr);
  const snap = await snapshotTree(box.root);
  t.deepEqual(layoutOf(snap, 'run/service/gateway-coder'), expectedLayout(true, '4242:4343'));
  t.deepEqual(layoutOf(snap, 'run/service/gateway-default'), expectedLayout(true, '4242:4343'));
  t.is(snap.get('run/service')?.mode, 0o755, 'the missing scandir is created 0755');
  t.is(snap.get('run')?.mode, 0o755, 'and so are its missing parents');
});

test('boot over a scandir that is a dangling symlink names the link and its target, and creates nothing', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'running' } } });
  const target = path.join(box.root, 'gone');
  await mkdir(path.dirname(box.scandir), { recursive: true });
  await symlink(target, box.scandir);
  const r = await runCli(bootArgs(box.home, box.scandir));
  t.is(r.code, 111);
  t.is(
    r.stderr,
    `reconcile-gateways: error: scandir ${box.scandir} is a symlink to ${target}, which does not exist; point --scandir or S6_PROFILE_GATEWAY_SCANDIR at the s6 scan directory\n`,
  );
  t.false(existsSync(target), 'the link is never followed to make its target');
});

test('sync and sync --diff refuse a scandir that does not exist (a mistyped path): exit 111 naming it, nothing created; boot creates it', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { desired_state: 'running' } } });
  const before = await snapshotTree(box.root);
  const sync = await runCli(['sync', ...bootArgs(box.home, box.scandir).slice(1)]);
  t.is(sync.code, 111, sync.stderr);
  t.is(
    sync.stderr,
    `reconcile-gateways: error: scandir ${box.scandir} does not exist; boot creates it, sync and watch do not: ` +
      'point --scandir or S6_PROFILE_GATEWAY_SCANDIR at the s6 scan directory, or run boot first\n',
  );
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.root)), [], 'sync created something');
  const preview = await runCli(['sync', ...bootArgs(box.home, box.scandir, '--diff').slice(1)]);
  t.is(preview.code, 111, 'sync --diff predicts the refusal, not a plan sync would never apply');
  t.is(preview.stderr, sync.stderr);
  t.is(preview.stdout, '');
  t.is((await runCli(bootArgs(box.home, box.scandir))).code, 0);
  t.is(
    (await runCli(['sync', ...bootArgs(box.home, box.scandir, '--diff').slice(1)])).code,
    0,
    'boot made it; sync has nothing left to do',
  );
});

test('a second boot plans nothing and changes no file, mode, mtime or inode in the scandir', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(
    box.home,
    { a: { state: { gateway_state: 'running' } }, b: {}, c: { state: '{ broken' } },
    { gateway_state: 'stopped' },
  );
  const first = await bootJson(box.home, box.scandir);
  t.is(first.code, 0);
  t.is((first.doc['operations'] as unknown[]).length, 4);
  const before = await snapshotTree(box.scandir);
  const second = await bootJson(box.home, box.scandir);
  t.is(second.code, 0);
  t.deepEqual(second.doc['operations'], []);
  t.deepEqual(diffSnapshots(before, await snapshotTree(box.scandir)), []);
});

test('S36 running then stopped: only the down marker appears, run keeps its inode and mtime', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  await runCli(bootArgs(box.home, box.scandir));
  const before = await snapshotTree(box.scandir);
  await writeFile(path.join(box.home, 'profiles/coder/gateway_state.json'), '{"desired_state":"stopped"}');
  const r = await bootJson(box.home, box.scandir);
  t.deepEqual(r.doc['operations'], [
    {
      kind: 'down',
      service: 'gateway-coder',
      profile: 'coder',
      reason: 'intent is not running; down marker missing',
      files: ['down'],
      status: 'applied',
    },
  ]);
  const after = await snapshotTree(box.scandir);
  t.deepEqual(diffSnapshots(before, after, { ignorePath: (p) => p === 'gateway-coder' }), ['added gateway-coder/down (file)']);
  t.is(after.get('gateway-coder/down')?.mode, 0o644);
});

test('an upstream-written slot with identical bytes is adopted without rewriting its scripts', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { coder: { state: { gateway_state: 'running' } } });
  await runCli(bootArgs(box.home, box.scandir));
  const record = path.join(box.scandir, 'gateway-coder/.reconcile-gateways.json');
  await import('node:fs/promises').then((fs) => fs.rm(record));
  const before = await snapshotTree(box.scandir);
  const r = await bootJson(box.home, box.scandir);
  t.deepEqual(r.doc['operations'], [
    {
      kind: 'update',
      service: 'gateway-coder',
      profile: 'coder',
      reason: 'adopt unowned slot',
      files: ['.reconcile-gateways.json'],
      status: 'applied',
    },
  ]);
  const after = await snapshotTree(box.scandir);
  t.deepEqual(diffSnapshots(before, after, { ignorePath: (p) => p === 'gateway-coder' }), [
    'added gateway-coder/.reconcile-gateways.json (file)',
  ]);
});

test('files of a slot owned by another user are rewritten root-owned (expected uid is 0 as root)', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, {});
  await runCli(bootArgs(box.home, box.scandir));
  const run = path.join(box.scandir, 'gateway-default/run');
  spawnSync('chown', ['10000:10000', run]);
  const r = await bootJson(box.home, box.scandir);
  t.like((r.doc['operations'] as unknown[])[0], { kind: 'update', files: ['run'], status: 'applied' });
  const st = await stat(run);
  t.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o755]);
  t.deepEqual((await bootJson(box.home, box.scandir)).doc['operations'], []);
});

test('S39-b the rendered finish exits 125 for 0 and 78 and 0 otherwise', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await runCli(bootArgs(box.home, box.scandir));
  const finish = path.join(box.scandir, 'gateway-default/finish');
  const codes = ['0', '78', '1', '137'].map((arg) => spawnSync('sh', [finish, arg]).status);
  t.deepEqual(codes, [125, 125, 0, 0]);
});
