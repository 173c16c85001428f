/**
 * Issue 16, integrity: the hermes user renames entries of a scandir it can write between observe
 * and apply. Removal and in-place updates act only on the directory observe saw (#9, #10); the
 * tool's state sits in a private directory a sticky scandir keeps hermes from renaming, and a lock
 * whose path no longer names the locked inode is not trusted (#8). The swaps happen at a
 * deterministic seam (the fault-injection hook just before an operation takes effect).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Operation } from '../../../src/model.js';
import { type PassResult, applyPass, planPass } from '../../../src/reconcile.js';
import { closeDir, openRoot } from '../../../src/safe-fs/index.js';
import { loadSettings } from '../../../src/cli/config.js';
import { namesLockedInode } from '../../../src/lock.js';
import { removeWorlds, runWorld, type World, writeConfig, writeProfiles, makeWorld } from '../../helpers/cli.js';
import { needsRoot } from '../../helpers/needs.js';
import { STATE_MARKER } from '../../../src/state-dir/index.js';

test.after.always('remove scratch trees', removeWorlds);

const NOBODY = 65534;

/** Runs one sync pass in this process with `swap` called just before each operation. */
async function syncWithSwap(l: World, swap: (op: Operation) => void): Promise<PassResult> {
  const settings = await loadSettings(l.config);
  const home = openRoot(l.home);
  const scandir = openRoot(l.scandir);
  try {
    const planned = planPass({
      mode: 'sync',
      home,
      scandir,
      hermesHome: l.home,
      settings,
      host: { argv: [], env: {}, config: { kind: 'missing' }, nowMs: Date.now() },
      prune: true,
      allowEmpty: false,
      restartChanged: false,
      isRoot: process.geteuid?.() === 0,
    });
    return await applyPass(planned, { sleep: () => undefined, beforeOperation: swap });
  } finally {
    closeDir(scandir);
    closeDir(home);
  }
}

/** A slot hermes registered for profile alice (stopped): its directory and run are hermes', its log/ is `logOwner`'s. */
async function hermesSlot(name: string, logOwner: number): Promise<{ l: World; slot: string }> {
  const l = await makeWorld(name);
  writeProfiles(l.home, { alice: 'stopped' });
  const slot = path.join(l.scandir, 'gateway-alice');
  fs.mkdirSync(path.join(slot, 'log'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(slot, 'run'), '#!/bin/sh\nexec hermes\n', { mode: 0o755 });
  for (const p of [slot, path.join(slot, 'run')]) fs.chownSync(p, NOBODY, NOBODY);
  fs.chownSync(path.join(slot, 'log'), logOwner, logOwner);
  return { l, slot };
}

/** A root-owned service directory (s6-overlay's, say) that hermes could not delete itself. */
function rootService(dir: string): void {
  fs.mkdirSync(dir, { mode: 0o700 });
  fs.writeFileSync(path.join(dir, 'run'), 'original\n', { mode: 0o700 });
}

needsRoot(test)(
  '#9 a slot swapped for a root-owned directory after observe is not removed: the directory survives, the remove fails',
  async (t) => {
    const l = await makeWorld('swap-remove');
    writeProfiles(l.home, { alice: 'running', bob: 'running' });
    t.is((await runWorld('boot', l)).code, 0);
    fs.rmSync(path.join(l.home, 'profiles', 'bob'), { recursive: true });
    const slot = path.join(l.scandir, 'gateway-bob');
    const result = await syncWithSwap(l, (op) => {
      if (op.kind !== 'remove') return;
      fs.renameSync(slot, path.join(l.root, 'forged-slot'));
      rootService(slot);
    });
    const remove = result.results.find((r) => r.op.kind === 'remove');
    t.is(remove?.status, 'failed');
    t.regex(remove?.error ?? '', /replaced since this pass read it/);
    t.is(fs.readFileSync(path.join(slot, 'run'), 'utf8'), 'original\n', 'the root-owned directory is intact');
  },
);

needsRoot(test)(
  '#10 an unowned slot swapped for a root-owned directory after observe is not adopted: no chmod, no rewrite, no marker',
  async (t) => {
    const l = await makeWorld('swap-adopt');
    writeProfiles(l.home, { alice: 'stopped' });
    const slot = path.join(l.scandir, 'gateway-alice');
    fs.mkdirSync(slot, { mode: 0o755 });
    fs.writeFileSync(path.join(slot, 'run'), '#!/bin/sh\nexec hermes\n', { mode: 0o755 });
    const result = await syncWithSwap(l, (op) => {
      if (op.kind !== 'update' || op.service !== 'gateway-alice') return;
      fs.renameSync(slot, path.join(l.root, 'hermes-slot'));
      rootService(slot);
    });
    const update = result.results.find((r) => r.op.kind === 'update');
    t.is(update?.status, 'failed');
    t.is(fs.statSync(slot).mode & 0o7777, 0o700, 'not chmodded');
    t.is(fs.readFileSync(path.join(slot, 'run'), 'utf8'), 'original\n', 'run not replaced');
    t.deepEqual(fs.readdirSync(slot), ['run'], 'no down marker, no ownership record');
  },
);

needsRoot(test)('#8 in a sticky root:hermes scandir hermes can neither rename the state directory nor reach into it', async (t) => {
  const l = await makeWorld('sticky');
  writeProfiles(l.home, { alice: 'running' });
  fs.chownSync(l.scandir, 0, NOBODY);
  fs.chmodSync(l.scandir, 0o1775);
  const run = await runWorld('boot', l);
  t.is(run.code, 0, run.stderr);
  t.notRegex(run.stderr, /not sticky/);
  const state = path.join(l.scandir, '.reconcile-gateways');
  t.is(fs.statSync(state).mode & 0o7777, 0o700);
  const asNobody = (cmd: string): number | null => spawnSync('sh', ['-c', cmd], { uid: NOBODY, gid: NOBODY, cwd: '/' }).status;
  t.not(asNobody(`mv ${state} ${l.scandir}/.moved`), 0, 'renamed away');
  t.not(asNobody(`mv ${l.scandir}/gateway-alice ${l.scandir}/.moved`), 0, 'a slot root made renamed away');
  t.not(asNobody(`touch ${state}/lock2`), 0, 'wrote into the state directory');
  t.is(asNobody(`mkdir ${l.scandir}/gateway-hermes-made`), 0, 'hermes can still register slots');
  t.deepEqual(fs.readdirSync(state).sort(), [STATE_MARKER, 'lock']);
});

needsRoot(test)('#8 without the sticky bit, root over a hermes-writable scandir warns, and names what to do', async (t) => {
  const l = await makeWorld('not-sticky');
  writeProfiles(l.home, { alice: 'running' });
  fs.chownSync(l.scandir, 0, NOBODY);
  fs.chmodSync(l.scandir, 0o775);
  const run = await runWorld('boot', l);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stderr, /writable by uid \d+ and not sticky.*chmod \+t/);
});

needsRoot(test)('#8 with gateways run as root (uid 0), a root-owned scandir gets no sticky warning: no mode binds root', async (t) => {
  const l = await makeWorld('root-gateways');
  writeProfiles(l.home, { alice: 'running' });
  writeConfig(l, { user: 'root', uid: 0, gid: 0 });
  fs.chmodSync(l.scandir, 0o775);
  const run = await runWorld('boot', l);
  t.is(run.code, 0, run.stderr);
  t.notRegex(run.stderr, /sticky/);
  // Every other user is still warned of: root being the gateways' uid does not bind them.
  fs.chmodSync(l.scandir, 0o777);
  const open = await runWorld('sync', l);
  t.regex(open.stderr, /scandir \S+ is writable by every user and not sticky: any user can rename the slots .*run chmod \+t on it/);
});

needsRoot(test)(
  '#8 a scandir hermes owns is warned about even when sticky: its owner can rename the state directory and break the lock',
  async (t) => {
    const l = await makeWorld('hermes-owned');
    writeProfiles(l.home, { alice: 'running' });
    fs.chownSync(l.scandir, NOBODY, NOBODY);
    fs.chmodSync(l.scandir, 0o1775);
    const run = await runWorld('boot', l);
    t.is(run.code, 0, run.stderr);
    t.regex(run.stderr, new RegExp(`scandir .* is owned by uid ${NOBODY}, not root: .*sticky bit or not; run chown root on it`));
    // What the warning is about: the sticky bit does not stop the owner.
    const state = path.join(l.scandir, '.reconcile-gateways');
    t.is(spawnSync('mv', [state, `${l.scandir}/.moved`], { uid: NOBODY, gid: NOBODY, cwd: '/' }).status, 0);
  },
);

test('#8 a lock renamed away and replaced no longer counts as held', (t) => {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'rg-lock-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lock = path.join(dir, 'lock');
  const fd = fs.openSync(lock, 'w');
  t.teardown(() => fs.closeSync(fd));
  t.true(namesLockedInode(lock, fd));
  fs.renameSync(lock, path.join(dir, 'away'));
  fs.writeFileSync(lock, '');
  t.false(namesLockedInode(lock, fd));
});

needsRoot(test)(
  '#10 a slot hermes made is adopted and started in one pass: the owner the adoption sets is no sign of a swap',
  async (t) => {
    const l = await makeWorld('adopt-up');
    writeProfiles(l.home, { alice: 'running' });
    const slot = path.join(l.scandir, 'gateway-alice');
    fs.mkdirSync(slot, { mode: 0o755 });
    fs.writeFileSync(path.join(slot, 'down'), '');
    fs.chownSync(slot, NOBODY, NOBODY);
    const r = await runWorld('sync', l);
    t.is(r.code, 0, r.stdout + r.stderr);
    t.regex(r.stdout, /applied service=gateway-alice kind=update reason="adopt unowned slot"/);
    t.regex(r.stdout, /applied service=gateway-alice kind=up /);
    t.false(fs.existsSync(path.join(slot, 'down')), 'started');
    t.is(fs.statSync(slot).uid, 0, 'adopted');
  },
);

needsRoot(test)(
  '#10 a log/finish hermes plants in a slot while it is being adopted is found after the chown: nothing is written, the next pass refuses it',
  async (t) => {
    const { l, slot } = await hermesSlot('adopt-plant', NOBODY);
    const finish = path.join(slot, 'log', 'finish');
    const result = await syncWithSwap(l, (op) => {
      if (op.kind !== 'update' || op.service !== 'gateway-alice') return;
      // After observe, before the chown: hermes still owns log/.
      fs.writeFileSync(finish, '#!/bin/sh\nid > /tmp/owned\n', { mode: 0o755 });
      fs.chownSync(finish, NOBODY, NOBODY);
    });
    const update = result.results.find((r) => r.op.kind === 'update');
    t.is(update?.status, 'failed');
    t.regex(update?.error ?? '', /log\/finish appeared while the slot was being adopted.*not adopted.*move those out of it/);
    t.false(fs.existsSync(path.join(slot, '.reconcile-gateways.json')), 'no ownership record');
    t.is(fs.readFileSync(path.join(slot, 'run'), 'utf8'), '#!/bin/sh\nexec hermes\n', 'run not rewritten');
    const next = await runWorld('sync', l);
    t.regex(next.stdout, /failed service=gateway-alice kind=update reason="not adopted: gateway-alice holds log\/finish/);
  },
);

needsRoot(test)(
  "#10 a root-owned log/ swapped for hermes' own between observe and the adoption (so not chowned) fails the adoption: nothing is written",
  async (t) => {
    // hermes renamed a root-owned directory of its slot (the event/ s6-supervise made) to log/.
    const { l, slot } = await hermesSlot('adopt-log-swap', 0);
    const result = await syncWithSwap(l, (op) => {
      if (op.kind !== 'update' || op.service !== 'gateway-alice') return;
      fs.renameSync(path.join(slot, 'log'), path.join(slot, 'event'));
      fs.mkdirSync(path.join(slot, 'log'), { mode: 0o755 });
      fs.chownSync(path.join(slot, 'log'), NOBODY, NOBODY);
    });
    const update = result.results.find((r) => r.op.kind === 'update');
    t.is(update?.status, 'failed');
    t.regex(
      update?.error ?? '',
      /log\/ was replaced while the slot was being adopted \(uid 65534, mode 0755\); not adopted, nothing was written/,
    );
    t.false(fs.existsSync(path.join(slot, '.reconcile-gateways.json')), 'no ownership record');
  },
);

needsRoot(test)(
  "#10 an adoption that failed after its chown is checked again on the next try (the slot root's, its log/ hermes'), and nothing else of the pass touches the slot",
  async (t) => {
    const l = await makeWorld('adopt-twice');
    writeProfiles(l.home, { alice: 'running' });
    const slot = path.join(l.scandir, 'gateway-alice');
    fs.mkdirSync(slot, { mode: 0o755 });
    fs.writeFileSync(path.join(slot, 'run'), '#!/bin/sh\nexec hermes\n', { mode: 0o755 });
    fs.writeFileSync(path.join(slot, 'down'), '');
    for (const p of [slot, path.join(slot, 'run'), path.join(slot, 'down')]) fs.chownSync(p, NOBODY, NOBODY);
    const hermesMkdirLog = (op: Operation): void => {
      if (op.kind !== 'update' || fs.existsSync(path.join(slot, 'log'))) return;
      fs.mkdirSync(path.join(slot, 'log'), { mode: 0o755 });
      fs.chownSync(path.join(slot, 'log'), NOBODY, NOBODY);
    };
    const first = await syncWithSwap(l, hermesMkdirLog);
    t.deepEqual(
      first.results.filter((r) => r.op.service === 'gateway-alice').map((r) => [r.op.kind, r.status]),
      [
        ['update', 'failed'],
        ['up', 'failed'],
      ],
    );
    t.regex(
      first.results.find((r) => r.op.kind === 'up')?.error ?? '',
      /not applied: gateway-alice was not adopted \(its update failed: mkdir .*\/log: EEXIST/,
    );
    t.true(fs.existsSync(path.join(slot, 'down')), 'the failed adoption is followed by no up: the down marker stays');
    t.is(fs.statSync(path.join(slot, 'log')).uid, NOBODY, "the slot is root's now, its log/ still hermes'");
    const second = await syncWithSwap(l, (op) => {
      if (op.kind !== 'update') return;
      fs.writeFileSync(path.join(slot, 'log', 'finish'), '#!/bin/sh\nid > /tmp/owned\n', { mode: 0o755 });
      fs.chownSync(path.join(slot, 'log', 'finish'), NOBODY, NOBODY);
    });
    const update = second.results.find((r) => r.op.kind === 'update');
    t.is(update?.status, 'failed');
    t.regex(update?.error ?? '', /log\/finish appeared while the slot was being adopted/);
    t.false(fs.existsSync(path.join(slot, '.reconcile-gateways.json')), 'no ownership record');
  },
);

needsRoot(test)(
  '#10 a root-owned log/ swapped for a symlink between observe and the adoption fails the adoption: nothing is written through it',
  async (t) => {
    const { l, slot } = await hermesSlot('adopt-log-link', 0);
    const elsewhere = path.join(l.root, 'hermes-dir');
    const result = await syncWithSwap(l, (op) => {
      if (op.kind !== 'update' || op.service !== 'gateway-alice') return;
      fs.mkdirSync(elsewhere, { mode: 0o755 });
      fs.renameSync(path.join(slot, 'log'), path.join(slot, 'event'));
      fs.symlinkSync(elsewhere, path.join(slot, 'log'));
    });
    const update = result.results.find((r) => r.op.kind === 'update');
    t.is(update?.status, 'failed');
    t.regex(update?.error ?? '', /log \(a symlink\) appeared while the slot was being adopted/);
    t.deepEqual(fs.readdirSync(elsewhere), [], 'nothing written through the link');
    t.false(fs.existsSync(path.join(slot, '.reconcile-gateways.json')), 'no ownership record');
  },
);
