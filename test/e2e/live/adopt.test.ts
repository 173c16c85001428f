import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { renderFinish, renderLogRun, renderRun } from '../../../src/desired/render.js';
import { loadValidators } from '../../../src/cli/validate.js';
import { diffSnapshots, snapshotTree } from '../../helpers/tree.js';
import { type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { needsS6 } from '../../helpers/needs.js';

const execFileAsync = promisify(execFile);
const RUNNING = { desired_state: 'running' };
const NOBODY = 65534;
test.after.always('stop s6 and remove temp dirs', removeS6Worlds);

/**
 * Writes a slot the way the Hermes CLI does (upstream §2.2/§2.6): staged as `.gateway-<p>.tmp`,
 * files and the supervise skeleton owned by the hermes user, `down` when not started, published
 * with one rename, then `s6-svscanctl -a`. No ownership record.
 */
async function writeLikeHermesCli(env: S6World, profile: string, start: boolean): Promise<void> {
  const settings = { shebang: '#!/bin/sh', user: 'nobody', gatewayCommand: path.join(env.root, 'fake-gateway'), home: env.home };
  const tmp = path.join(env.scandir, `.gateway-${profile}.tmp`);
  await mkdir(path.join(tmp, 'log'), { recursive: true });
  await writeFile(path.join(tmp, 'type'), 'longrun\n', { mode: 0o644 });
  await writeFile(path.join(tmp, 'run'), renderRun(profile, settings), { mode: 0o755 });
  await writeFile(path.join(tmp, 'finish'), renderFinish(settings), { mode: 0o755 });
  await writeFile(path.join(tmp, 'log/run'), renderLogRun(profile, settings), { mode: 0o755 });
  if (!start) await writeFile(path.join(tmp, 'down'), '');
  for (const dir of [tmp, path.join(tmp, 'log')]) {
    for (const sub of ['event', 'supervise', 'supervise/event']) {
      await mkdir(path.join(dir, sub));
      await chmod(path.join(dir, sub), sub === 'supervise' ? 0o755 : 0o3730);
    }
    await execFileAsync('mkfifo', ['-m', '0660', path.join(dir, 'supervise/control')]);
  }
  await execFileAsync('chown', ['-R', `${NOBODY}:${NOBODY}`, tmp]);
  await rename(tmp, env.slot(profile));
  await execFileAsync('s6-svscanctl', ['-a', env.scandir]);
}

needsS6(test)('a slot written like the Hermes CLI is adopted: record added, counted as update, its gateway keeps running', async (t) => {
  const env = await makeS6World('live', { profiles: { cli: RUNNING, quiet: { desired_state: 'stopped' } } });
  for (const p of ['cli', 'quiet']) await writeLikeHermesCli(env, p, p === 'cli');
  await env.waitUp('cli');
  const pid = await env.pid('cli');

  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  const ops = sync.doc['operations'] as { kind: string; service: string; reason: string; status: string }[];
  t.deepEqual(
    ops.map((o) => [o.kind, o.service, o.reason, o.status]),
    [
      ['update', 'gateway-cli', 'adopt unowned slot', 'applied'],
      ['create', 'gateway-default', 'slot missing', 'applied'],
      ['update', 'gateway-quiet', 'adopt unowned slot', 'applied'],
    ],
  );
  t.deepEqual(sync.doc['restartPending'], [], 'same content with another owner is not a run-time change');
  const record = JSON.parse(await readFile(path.join(env.slot('cli'), '.reconcile-gateways.json'), 'utf8')) as Record<string, unknown>;
  t.like(record, { managedBy: 'reconcile-gateways', service: 'gateway-cli', profile: 'cli' });
  t.is(await env.pid('cli'), pid);

  const again = await env.json('sync', ['--diff']);
  t.is(again.code, 0, 'after adoption nothing is pending, no restart either');
  t.deepEqual(again.doc['operations'], []);
  t.deepEqual(again.doc['restartPending'], []);
  t.is(await env.pid('cli'), pid);
});

needsS6(test)(
  "another tool's gateway-<name> service is not adopted when a profile of that name appears, nor removed when it goes",
  async (t) => {
    const env = await makeS6World('live', { profiles: { keep: { desired_state: 'stopped' } } });
    await env.svscan.addService('gateway-proxy', '#!/bin/sh\nexec sleep 100000\n', {
      files: { 'data/key': 'TOPSECRET\n', 'log/run': '#!/bin/sh\nexec cat >/dev/null\n', 'log/finish': '#!/bin/sh\nexit 0\n' },
    });
    await env.svscan.waitUp('gateway-proxy');
    const pid = (await env.svscan.svstat('gateway-proxy')).pid;
    t.is((await env.cli('sync')).code, 0);
    const ignore = (p: string): boolean => /(^|\/)(supervise|event)(\/|$)/.test(p);
    const before = await snapshotTree(env.slot('proxy'));

    await env.profile('proxy', RUNNING);
    const sync = await env.json('sync');
    t.is(sync.code, 2, 'a slot it may not adopt is a failed operation');
    const op = (sync.doc['operations'] as { kind: string; service: string; status: string; error: string }[]).find(
      (o) => o.service === 'gateway-proxy',
    );
    t.like(op as object, { kind: 'update', status: 'failed', refused: true });
    const { validatePlan } = await loadValidators();
    t.true(validatePlan(sync.doc), JSON.stringify(validatePlan.errors));
    const preview = await env.json('sync', ['--diff']);
    t.is(preview.code, 2, 'the preview says what the run will: it fails');
    t.like(
      (sync.doc['profiles'] as { profile: string }[]).find((p) => p.profile === 'proxy'),
      { action: 'pending', autostart: false },
    );
    t.regex(op?.error ?? '', /^not adopted: gateway-proxy holds data, log\/finish, which the Hermes CLI never writes/);
    t.deepEqual(diffSnapshots(before, await snapshotTree(env.slot('proxy')), { ignorePath: ignore, ignoreVolatile: true }), []);
    t.is((await env.svscan.svstat('gateway-proxy')).pid, pid, "the other tool's service runs on");

    await rm(path.join(env.home, 'profiles', 'proxy'), { recursive: true });
    t.is((await env.cli('sync')).code, 0);
    t.is(await readFile(path.join(env.slot('proxy'), 'data', 'key'), 'utf8'), 'TOPSECRET\n', 'nothing of it was removed');
    t.is((await env.svscan.svstat('gateway-proxy')).pid, pid);
  },
);

needsS6(test)('foreign entries in the scandir are never touched, nor supervised services that are not ours', async (t) => {
  const env = await makeS6World('live', { profiles: { a: RUNNING } });
  await env.svscan.addService('other-service', '#!/bin/sh\nexec sleep 100000\n');
  await env.svscan.waitUp('other-service');
  const otherPid = (await env.svscan.svstat('other-service')).pid;
  const outside = path.join(env.root, 'outside');
  await mkdir(outside);
  await writeFile(path.join(outside, 'run'), '#!/bin/sh\nexit 0\n');
  await mkdir(path.join(env.scandir, 'gateway-Upper'));
  await writeFile(path.join(env.scandir, 'gateway-Upper/run'), 'foreign\n');
  await mkdir(path.join(env.scandir, '.hidden-tool'));
  await writeFile(path.join(env.scandir, 'gateway-file'), 'not a dir\n');
  await symlink(outside, path.join(env.scandir, 'gateway-link'));
  await mkdir(path.join(env.scandir, 'gateway-orphan'));
  await writeFile(path.join(env.scandir, 'gateway-orphan/run'), '#!/bin/sh\nexec sleep 100000\n', { mode: 0o755 });
  // s6 picks up every new directory on a rescan (its supervise/ is s6's, not ours): let it first.
  await execFileAsync('s6-svscanctl', ['-a', env.scandir]);
  await env.svscan.waitSupervised('gateway-orphan');
  // s6 follows the symlinked entry and builds supervise/ in its target: let it finish first.
  await env.svscan.waitSupervised('gateway-link');
  const ignore = (p: string): boolean =>
    /^gateway-(a|default)(\/|$)|^\.reconcile-gateways|^\.s6-svscan|(^|\/)(supervise|event)(\/|$)/.test(p);
  const before = await snapshotTree(env.scandir);
  const outsideBefore = await snapshotTree(outside);

  t.is((await env.cli('sync')).code, 0);
  const sync = await env.json('sync');
  t.is(sync.code, 0, sync.stderr);
  t.deepEqual(
    (sync.doc['operations'] as { service: string }[]).map((o) => o.service),
    [],
  );
  t.deepEqual(diffSnapshots(before, await snapshotTree(env.scandir), { ignorePath: ignore, ignoreVolatile: true }), []);
  t.deepEqual(diffSnapshots(outsideBefore, await snapshotTree(outside)), []);
  t.is((await env.svscan.svstat('other-service')).pid, otherPid);
});
