/**
 * The tool run as the hermes user over its own scandir (RECONCILE_GATEWAYS_RUN_AS=hermes), under a
 * real s6-svscan run by root: the user cannot tell whether s6-svscan runs (.s6-svscan/ is 0700),
 * yet a pass that applies does what its --diff showed: it stops and starts gateways through their
 * supervisors, removes a slot with its running gateway, and boot keeps a live gateway's files.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NOBODY, type S6World, makeS6World, processesIn, removeS6Worlds } from '../../helpers/s6-world.js';
import type { CliResult } from '../../helpers/cli.js';
import { processAlive, waitFor } from '../../helpers/s6.js';
import { needsS6 } from '../../helpers/needs.js';
import { loadValidators } from '../../../src/cli/validate.js';

const RUNNING = { desired_state: 'running' };
const nobody = { uid: NOBODY, gid: NOBODY };
const validators = await loadValidators();
test.after.always('stop watchers and s6, remove temp dirs', removeS6Worlds);

function chownTree(dir: string): void {
  fs.chownSync(dir, NOBODY, NOBODY);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p);
    else fs.lchownSync(p, NOBODY, NOBODY);
  }
}

/**
 * An s6 world handed to the hermes user (nobody here), as RECONCILE_GATEWAYS_RUN_AS=hermes hands
 * it: HERMES_HOME and the scandir are its, and its lock lives in a directory of its own. `as` runs
 * the CLI as that user.
 */
async function hermesWorld(
  prefix: string,
  profiles: Readonly<Record<string, object>>,
): Promise<{ env: S6World; as: (command: string, extra?: readonly string[]) => Promise<CliResult> }> {
  const env = await makeS6World(prefix, { profiles });
  chownTree(env.home);
  fs.chownSync(env.scandir, NOBODY, NOBODY);
  const locks = path.join(env.root, 'locks');
  fs.mkdirSync(locks);
  fs.chownSync(locks, NOBODY, NOBODY);
  const as = (command: string, extra: readonly string[] = []): Promise<CliResult> =>
    env.cli(command, [...extra, '--lock-file', path.join(locks, 'run.lock')], nobody);
  return { env, as };
}

needsS6(test)(
  'as the hermes user, a pass stops, starts and removes running gateways as its --diff says, and boot keeps a live gateway’s files',
  async (t) => {
    const { env, as } = await hermesWorld('not-root', { coder: RUNNING, keep: RUNNING });

    const first = await as('sync');
    t.is(first.code, 0, first.stderr);
    t.regex(
      first.stderr,
      /warn: gateway-coder, gateway-default and gateway-keep: new slots, but this user cannot tell s6-svscan to pick them up \(\.s6-svscan\/control: permission denied\); they start at its next scan: run s6-svscanctl -a on the scandir as root/,
    );
    await env.svscan.rescan(); // root's part: only root may tell s6-svscan to pick up new slots
    await env.waitUp('coder');
    await env.waitUp('keep');
    const pid = await env.pid('coder');

    await env.profile('coder', { desired_state: 'stopped' });
    const diff = await as('sync', ['--diff']);
    t.regex(diff.stdout, new RegExp(`^gateway-coder down: .*\\(stops its running gateway, pid ${pid}\\)$`, 'm'), diff.stdout);
    const down = await as('sync');
    t.is(down.code, 0, down.stderr);
    t.regex(down.stdout, /^reconcile: applied service=gateway-coder kind=down /m);
    await env.svscan.waitSvstat('gateway-coder', 'up,wantedup', 'false false');

    await env.profile('coder', RUNNING);
    const up = await as('sync');
    t.is(up.code, 0, up.stderr);
    t.regex(up.stdout, /^reconcile: applied service=gateway-coder kind=up /m);
    await env.waitUp('coder');

    // boot on a running system: the live gateway's runtime file is its own, not a stale one.
    const pidFile = path.join(env.home, 'profiles', 'keep', 'gateway.pid');
    fs.writeFileSync(pidFile, `${await env.pid('keep')}\n`);
    fs.chownSync(pidFile, NOBODY, NOBODY);
    const boot = await as('boot');
    t.is(boot.code, 0, boot.stderr);
    t.true(fs.existsSync(pidFile), 'boot kept the gateway.pid of a gateway it saw up');

    const running = await env.pid('coder');
    fs.rmSync(path.join(env.home, 'profiles', 'coder'), { recursive: true });
    const prune = await as('sync');
    t.is(prune.code, 0, `${prune.stdout}\n${prune.stderr}`);
    t.regex(prune.stdout, /^reconcile: applied service=gateway-coder kind=remove /m);
    t.false(fs.existsSync(env.slot('coder')));
    await waitFor(() => !processAlive(running), 20_000, 'the removed gateway to stop');
    const trash = path.join(env.scandir, '.reconcile-gateways', 'trash');
    await waitFor(() => processesIn(trash).length === 0, 20_000, 'no supervisor left running in the trash');
    t.deepEqual(fs.readdirSync(trash), [], 'the trashed slot is deleted');
    const after = await as('sync', ['--diff']);
    t.is(after.code, 0, `nothing left to do:\n${after.stdout}`);
    await env.waitUp('keep');
  },
);

needsS6(test)(
  "a user outside the group of the slots' supervise/ is told that their live state is unknown to it, not shown a plan without their restarts",
  async (t) => {
    const { env, as } = await hermesWorld('not-root-unseen', { coder: RUNNING });
    t.is((await as('sync')).code, 0);
    await env.svscan.rescan();
    await env.waitUp('coder');
    fs.appendFileSync(path.join(env.slot('coder'), 'run'), '# local edit\n');
    const member = await as('sync', ['--diff']);
    t.regex(member.stdout, /^gateway-coder restart pending: /m, 'a member of the group of supervise/ (0710) sees the running gateway');
    t.notRegex(member.stderr, /live s6 state/);
    // The same slots with supervise/ in a group the user is not in.
    for (const profile of ['coder', 'default']) fs.chownSync(path.join(env.slot(profile), 'supervise'), 0, 0);
    const other = await as('sync', ['--diff']);
    t.is(other.code, 1, other.stderr);
    t.notRegex(other.stdout, /restart pending: /);
    t.regex(
      other.stderr,
      /warn: gateway-coder and gateway-default: this user may not read their live s6 state \(supervise\/status: permission denied\), so whether their gateways run is unknown: restarts pending and drift are not found for them; run as root, or as a member of the group of their supervise\/, for all of it/,
    );
  },
);

needsS6(test)(
  "as the hermes user, a watcher's --lock-file it cannot create (a root-owned directory) fails its start, not every change after it said ready",
  async (t) => {
    const { env } = await hermesWorld('not-root-lockdir', { coder: RUNNING });
    const rootDir = path.join(env.root, 'root-only');
    fs.mkdirSync(rootDir, { mode: 0o755 });
    const lock = path.join(rootDir, 'run.lock');
    const r = await env.cli(
      'watch',
      ['--lock-file', lock, '--status-file', path.join(env.root, 'locks', 'status.json'), '--interval', '3600'],
      nobody,
    );
    t.is(r.code, 111, r.stderr);
    t.regex(r.stderr, /cannot use lock file .*: it does not exist and this user cannot create it in /);
    t.false(fs.existsSync(env.slot('coder')), 'no pass ran');
  },
);

needsS6(test)(
  'as the hermes user, a slot whose supervisor it may not tell to stop is never moved or deleted, and the failure says who can remove it',
  async (t) => {
    const { env, as } = await hermesWorld('not-root-denied', { coder: RUNNING, keep: RUNNING });
    t.is((await as('sync')).code, 0);
    await env.svscan.rescan();
    await env.waitUp('coder');
    const running = await env.pid('coder');
    // What s6-supervise leaves when it makes the FIFOs itself: root's, 0600.
    for (const sub of ['', 'log']) {
      const control = path.join(env.slot('coder'), sub, 'supervise', 'control');
      fs.chownSync(control, 0, 0);
      fs.chmodSync(control, 0o600);
    }
    fs.rmSync(path.join(env.home, 'profiles', 'coder'), { recursive: true });
    // --diff shows what the run does: a remove it refuses (exit 2, as for a refused adoption).
    const preview = await as('sync', ['--diff']);
    t.is(preview.code, 2, preview.stdout);
    t.regex(
      preview.stdout,
      /^gateway-coder remove: profile deleted, not removed: its supervise\/control is not writable to this user, who cannot stop it \(or tell whether it runs\): left in place; remove it as root \(move it out of the scandir, then s6-svscanctl -an\)$/m,
      'and no "(stops its running gateway)": it does not',
    );
    const json = await as('sync', ['--diff', '--output', 'json']);
    const doc: unknown = JSON.parse(json.stdout);
    t.true(validators.validatePlan(doc), JSON.stringify(validators.validatePlan.errors));
    const ops = (doc as { operations: { kind: string; service: string; refused?: boolean }[] }).operations;
    t.deepEqual(
      ops.filter((op) => op.service === 'gateway-coder').map((op) => [op.kind, op.refused]),
      [['remove', true]],
    );
    for (const pass of [1, 2]) {
      const r = await as('sync');
      t.is(r.code, 2, `pass ${pass}: ${r.stdout}`);
      t.regex(
        r.stderr,
        /remove failed: profile deleted, not removed: its supervise\/control is not writable to this user, who cannot stop it \(or tell whether it runs\): left in place; remove it as root/,
      );
      t.false(
        fs.existsSync(path.join(env.scandir, '.reconcile-gateways', 'trash', 'gateway-coder')),
        `pass ${pass}: nothing went to the trash`,
      );
      t.true(fs.existsSync(path.join(env.slot('coder'), 'run')), `pass ${pass}: the slot is where it was, whole`);
    }
    t.true(processAlive(running), 'its gateway runs on, supervised, until root removes it');

    // The same when the user may talk to s6-svscan (-an would stop it, but the slot could then
    // never be seen to stop, nor be deleted, by this user).
    fs.chmodSync(path.join(env.scandir, '.s6-svscan'), 0o711);
    fs.chownSync(path.join(env.scandir, '.s6-svscan', 'control'), NOBODY, NOBODY);
    const live = await as('sync');
    t.is(live.code, 2, live.stdout);
    t.regex(live.stderr, /remove failed: profile deleted, not removed: its supervise\/control is not writable to this user/);
    t.true(fs.existsSync(path.join(env.slot('coder'), 'run')));
    t.true(processAlive(running));
  },
);

needsS6(test)(
  'as the hermes user, operations refused for want of permission (a slot root took over) fail alone, and one warning says the fix',
  async (t) => {
    const { env, as } = await hermesWorld('not-root-eacces', { coder: RUNNING, keep: RUNNING });
    t.is((await as('sync')).code, 0);
    // A root run took the slot over: root's directory, and a run file that is not what we write.
    fs.writeFileSync(path.join(env.slot('coder'), 'run'), '#!/bin/sh\nexec sleep 1000\n');
    fs.chownSync(env.slot('coder'), 0, 0);
    const keepState = path.join(env.home, 'profiles', 'keep', 'gateway_state.json');
    fs.writeFileSync(keepState, JSON.stringify({ desired_state: 'stopped' }));
    const r = await as('sync');
    t.is(r.code, 2, r.stdout);
    t.regex(r.stderr, /update failed: .*EACCES/);
    t.regex(
      r.stderr,
      /warn: 1 operation failed for want of permission \(this pass runs as uid 65534, not root\): run boot, sync and watch over a scandir as one user, every time/,
    );
    t.regex(r.stdout, /^reconcile: applied service=gateway-keep kind=down /m, 'the other profiles are reconciled');
  },
);

needsS6(test)(
  'as the hermes user, a slot in its trash whose supervisor it may not tell to stop is never deleted: --diff shows the purge refused, as the run fails it',
  async (t) => {
    const { env, as } = await hermesWorld('not-root-trash', { keep: RUNNING });
    t.is((await as('sync')).code, 0);
    // Left in the trash by a root run, say: its supervise/control is root's, 0600.
    const state = path.join(env.scandir, '.reconcile-gateways');
    const trashed = path.join(state, 'trash', 'gateway-old');
    fs.mkdirSync(path.join(trashed, 'supervise'), { recursive: true });
    spawnSync('mkfifo', ['-m', '0600', path.join(trashed, 'supervise', 'control')]);
    fs.writeFileSync(path.join(trashed, 'run'), '#!/bin/sh\n');
    for (const dir of [state, path.join(state, 'trash')]) {
      fs.chownSync(dir, NOBODY, NOBODY);
      fs.chmodSync(dir, 0o700);
    }
    fs.chownSync(trashed, NOBODY, NOBODY);

    const preview = await as('sync', ['--diff']);
    t.is(preview.code, 2, preview.stdout);
    t.regex(
      preview.stdout,
      /^gateway-old purge: removal pending: its supervise\/control is not writable to this user, who cannot stop it \(or tell whether it runs\): not deleted; as root, s6-svc -dx it in the trash \(\.reconcile-gateways\/trash in the scandir\)/m,
    );
    const status = await env.json('status', [], nobody);
    t.true(
      (status.doc['warnings'] as string[]).some((w) =>
        /^gateway-old: removal pending: its supervise\/control is not writable to this user.*as root/.test(w),
      ),
      `status says who can finish it, not that a pass will: ${JSON.stringify(status.doc['warnings'])}`,
    );
    for (const pass of [1, 2]) {
      const r = await as('sync');
      t.is(r.code, 2, `pass ${pass}: ${r.stdout}`);
      t.regex(r.stderr, /purge failed: removal pending: its supervise\/control is not writable to this user/);
      t.true(fs.existsSync(path.join(trashed, 'run')), `pass ${pass}: the trashed slot is kept, whole`);
    }
  },
);

needsS6(test)(
  'as the hermes user, an s6-svscan whose control the cont-init example handed to hermes (.s6-svscan searchable) is live: new slots are picked up',
  async (t) => {
    const { env, as } = await hermesWorld('not-root-svscan', { coder: RUNNING });
    fs.chmodSync(path.join(env.scandir, '.s6-svscan'), 0o711);
    fs.chownSync(path.join(env.scandir, '.s6-svscan', 'control'), NOBODY, NOBODY);
    const status = await env.json('status', [], nobody);
    t.is(status.doc['svscanLive'], true, status.stdout);
    const sync = await as('sync');
    t.is(sync.code, 0, sync.stderr);
    t.notRegex(sync.stderr, /cannot tell s6-svscan/);
    await env.waitUp('coder'); // no rescan by root: the pass's own `a` picked the slot up
  },
);
