/**
 * Issue 4, faults: one slot's failure (ENOSPC on a tiny tmpfs, a read-only slot, EACCES, an
 * unexpected exception) is reported with its path and errno, the others converge, the exit code
 * is 2, and a rerun after the fault is fixed converges. Only a pass that cannot mean anything
 * (HERMES_HOME or the scandir unusable) is fatal, and then nothing changes.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Settings } from '../../../src/model.js';
import { DEFAULT_SETTINGS } from '../../../src/cli/config.js';
import { exitCodeOf } from '../../../src/cli/pass.js';
import { applyPass, planPass } from '../../../src/reconcile.js';
import { closeDir, openRoot } from '../../../src/safe-fs/index.js';
import {
  MAIN,
  TEST_SETTINGS,
  hermeticEnv,
  removeWorlds,
  runWorld,
  runWorldJson,
  startCli,
  type World,
  writeConfig,
  worldCommand,
  writeProfiles,
  makeWorld,
} from '../../helpers/cli.js';
import { diffSnapshot, fileHash, snapshot } from './tree-check.js';
import { mountTmpfs, unmountTmpfs } from './tmpfs.js';
import { needsRoot } from '../../helpers/needs.js';
import { waitFor } from '../../helpers/s6.js';

const mounts: string[] = [];
const binds: string[] = [];

test.after.always('undo mounts and remove scratch trees', async () => {
  for (const b of binds) execFileSync('umount', [b]);
  for (const m of mounts) unmountTmpfs(m);
  await removeWorlds();
});

type Op = { kind: string; service: string; status?: string; error?: string };
function opsOf(doc: { operations?: readonly Op[] }, service: string): Op[] {
  return (doc.operations ?? []).filter((o) => o.service === service);
}

function fill(dir: string): void {
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${path.join(dir, '.filler')}`, 'bs=4096'], { stdio: 'ignore' });
  } catch {
    // dd stops with ENOSPC: that is the point.
  }
}

/** A slot's two control FIFOs as `type uid:gid mode` (lstat). */
function controlFifos(slot: string): string[] {
  return ['supervise/control', 'log/supervise/control'].map((fifo) => {
    const st = fs.lstatSync(path.join(slot, fifo));
    return `${st.isFIFO() ? 'fifo' : 'not a fifo'} ${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
  });
}

/** What the root-owned skeleton's FIFOs are (s6-svperms' grants: the group may write, not read). */
const ROOT_MODEL_FIFOS = [`fifo 0:${TEST_SETTINGS.gid} 620`, `fifo 0:${TEST_SETTINGS.gid} 620`];

needsRoot(test)(
  'ENOSPC on a full tmpfs scandir fails the ops that need space, with path and errno; the others apply; a rerun converges',
  async (t) => {
    const base = await makeWorld('enospc');
    const mount = await mountTmpfs('enospc-scan', '512k');
    mounts.push(mount);
    const l = { ...base, scandir: mount };
    writeProfiles(l.home, { alice: 'running', bob: 'running' });
    t.is((await runWorld('boot', l)).code, 0);
    const runBefore = fileHash(path.join(l.scandir, 'gateway-alice', 'run'));
    fill(l.scandir);
    writeProfiles(l.home, { carol: 'running', bob: 'stopped' });
    writeConfig(l, { gatewayCommand: '/bin/false' });

    const { doc, ...result } = await runWorldJson('sync', l);
    t.is(result.code, 2);
    const [create] = opsOf(doc, 'gateway-carol');
    t.is(create?.status, 'failed');
    t.regex(create?.error ?? '', new RegExp(`${mount}/\\S+: ENOSPC: no space left on device`));
    const [update] = opsOf(doc, 'gateway-alice');
    t.like(update, { kind: 'update', status: 'failed' });
    t.regex(update?.error ?? '', /gateway-alice\/run: ENOSPC/);
    t.like(
      opsOf(doc, 'gateway-bob').find((o) => o.kind === 'down'),
      { status: 'applied' },
    );
    t.is(fileHash(path.join(l.scandir, 'gateway-alice', 'run')), runBefore, 'the script was truncated or changed');
    t.true(fs.existsSync(path.join(l.scandir, 'gateway-bob', 'down')));
    t.false(fs.existsSync(path.join(l.scandir, 'gateway-carol')));
    t.deepEqual(
      fs
        .readdirSync(l.scandir)
        .filter((n) => n.startsWith('.'))
        .sort(),
      ['.filler', '.reconcile-gateways'],
    );
    t.deepEqual(
      fs.readdirSync(path.join(l.scandir, 'gateway-alice')).filter((n) => n.endsWith('.rg-tmp')),
      [],
    );

    fs.rmSync(path.join(l.scandir, '.filler'));
    t.is((await runWorld('sync', l)).code, 0, 'the rerun after freeing space did not converge');
    t.is((await runWorld('sync', l, ['--diff'])).code, 0);
  },
);

needsRoot(test)(
  'inodes running out while boot builds slots: each slot is published whole (files and root-owned FIFOs) or fails with its reason; a rerun converges',
  async (t) => {
    const base = await makeWorld('inodes');
    const scandir = await mountTmpfs('inodes-scan', '4m');
    mounts.push(scandir);
    // ~15 inodes per slot: enough for a few of the 12 slots, not for all. Which ones fail depends
    // on how mkfifo and the file writes interleave, so only what holds either way is checked.
    execFileSync('mount', ['-o', 'remount,nr_inodes=90', scandir]);
    const l = { ...base, scandir };
    writeProfiles(l.home, Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}`, 'running'])));
    const { doc, ...first } = await runWorldJson('boot', l);
    t.is(first.code, 2, first.stderr);
    const creates = (doc.operations ?? []).filter((op) => op.kind === 'create');
    t.is(creates.length, 12);
    const failed = creates.filter((op) => op.status === 'failed');
    t.true(failed.length > 0, 'every slot fitted: the test made too many inodes');
    for (const op of failed) t.regex(op.error ?? '', /ENOSPC|No space left/, op.service);
    for (const op of creates) {
      const slot = path.join(scandir, op.service);
      if (op.status === 'failed') {
        t.false(fs.existsSync(slot), `${op.service} failed but was published`);
        continue;
      }
      for (const f of ['run', 'finish', 'type', 'log/run', '.reconcile-gateways.json'])
        t.true(fs.statSync(path.join(slot, f)).size > 0, `${op.service}/${f}`);
      t.deepEqual(controlFifos(slot), ROOT_MODEL_FIFOS, op.service);
    }
    t.deepEqual(
      fs.readdirSync(path.join(scandir, '.reconcile-gateways')).filter((n) => n.startsWith('staging')),
      [],
    );

    execFileSync('mount', ['-o', 'remount,nr_inodes=4096', scandir]);
    t.is((await runWorld('boot', l)).code, 0, 'the rerun with inodes to spare did not converge');
    t.is((await runWorld('sync', l, ['--diff'])).code, 0);
  },
);

needsRoot(test)(
  'root without CAP_SETGID still builds every slot: mkfifo is run as root is, and the FIFOs are chowned to root:gid',
  async (t) => {
    const l = await makeWorld('no-setgid');
    writeProfiles(l.home, { alice: 'running', bob: 'stopped' });
    // setpriv (util-linux, like flock) drops CAP_SETGID from the bounding set: no child can be
    // started with another group, as in a container run with --cap-drop SETGID.
    const r = spawnSync(
      'setpriv',
      ['--bounding-set', '-setgid', process.execPath, MAIN, ...worldCommand('boot', l, ['--output', 'json'])],
      {
        encoding: 'utf8',
        env: hermeticEnv(),
      },
    );
    t.is(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { operations: { kind: string; status: string }[] };
    t.deepEqual(
      doc.operations.filter((op) => op.kind === 'create').map((op) => op.status),
      ['applied', 'applied', 'applied'],
    );
    for (const slot of ['gateway-default', 'gateway-alice', 'gateway-bob'])
      t.deepEqual(controlFifos(path.join(l.scandir, slot)), ROOT_MODEL_FIFOS, slot);
  },
);

needsRoot(test)('a read-only slot fails alone with EROFS and converges once writable again', async (t) => {
  const l = await makeWorld('erofs');
  writeProfiles(l.home, { alice: 'running', bob: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  const bob = path.join(l.scandir, 'gateway-bob');
  execFileSync('mount', ['--bind', bob, bob]);
  binds.push(bob);
  execFileSync('mount', ['-o', 'remount,bind,ro', bob]);
  writeConfig(l, { gatewayCommand: '/bin/false' });

  const { doc, ...result } = await runWorldJson('sync', l);
  t.is(result.code, 2);
  t.regex(opsOf(doc, 'gateway-bob')[0]?.error ?? '', /gateway-bob\/\S+: EROFS: read-only file system/);
  t.is(opsOf(doc, 'gateway-alice')[0]?.status, 'applied');
  execFileSync('umount', [bob]);
  binds.pop();
  t.is((await runWorld('sync', l)).code, 0);
  t.is((await runWorld('sync', l, ['--diff'])).code, 0);
});

needsRoot(test)('a read-only scandir, or one under a read-only directory, is one fatal line that names the errno and where', async (t) => {
  const l = await makeWorld('rofs');
  writeProfiles(l.home, { alice: 'running' });
  const ro = await mountTmpfs('rofs-scan', '1m');
  mounts.push(ro);
  execFileSync('mount', ['-o', 'remount,ro', ro]);
  const scan = { ...l, scandir: ro };
  const sync = await runWorld('sync', scan);
  t.is(sync.code, 111);
  t.is(
    sync.stderr.trim(),
    `reconcile-gateways: error: cannot use ${ro}/.reconcile-gateways, the tool's state directory in the scandir (EROFS: read-only file system); ` +
      'the scandir is on a read-only file system: boot, sync and watch write there (the Hermes image keeps it on a tmpfs); status and --diff need only read access',
  );
  const below = path.join(ro, 'run', 'service');
  const boot = await runWorld('boot', { ...l, scandir: below });
  t.is(boot.code, 111);
  t.regex(
    boot.stderr,
    new RegExp(`^reconcile-gateways: error: cannot create scandir ${below} \\(at ${ro}/run\\): EROFS: read-only file system; `, 'm'),
    'the directory that could not be made, and the real errno (not ENOENT)',
  );
  t.is((await runWorld('status', scan)).code, 0, 'status only reads');
});

needsRoot(test)('run as an unprivileged user, a slot it may not write fails alone with EACCES and converges once it may', async (t) => {
  const l = await makeWorld('eacces');
  writeProfiles(l.home, { alice: 'running', bob: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  execFileSync('chown', ['-R', '65534:65534', l.scandir]);
  execFileSync('chown', ['-R', '0:0', path.join(l.scandir, 'gateway-bob')]);
  writeConfig(l, { gatewayCommand: '/bin/false' });
  const nobody = { uid: 65534, gid: 65534 };

  const { doc, ...result } = await runWorldJson('sync', l, [], nobody);
  t.is(result.code, 2, result.stderr);
  t.regex(opsOf(doc, 'gateway-bob')[0]?.error ?? '', /gateway-bob\/\S+: EACCES: permission denied/);
  t.is(opsOf(doc, 'gateway-alice')[0]?.status, 'applied');
  execFileSync('chown', ['-R', '65534:65534', path.join(l.scandir, 'gateway-bob')]);
  t.is((await runWorld('sync', l, [], nobody)).code, 0);
  t.is((await runWorld('sync', l, ['--diff'], nobody)).code, 0);
});

needsRoot(test)(
  'run as the wrong user over the scandir root booted, sync exits 111 saying whose it is; --diff still reads it',
  async (t) => {
    const l = await makeWorld('wrong-user');
    writeProfiles(l.home, { alice: 'running' });
    t.is((await runWorld('boot', l)).code, 0);
    writeConfig(l, { gatewayCommand: '/bin/false' });
    const before = snapshot(l.scandir);
    const nobody = { uid: 65534, gid: 65534 };

    const { doc, ...result } = await runWorldJson('sync', l, [], nobody);
    t.is(result.code, 111, result.stderr);
    t.regex(
      doc.error?.message ?? '',
      /cannot use \S+\/\.reconcile-gateways, the tool's state directory .*EACCES.*; it belongs to uid 0: run boot, sync and watch as that user, every time \(root in the Hermes image; hermes with RECONCILE_GATEWAYS_RUN_AS=hermes\)/,
    );
    const diff = await runWorld('sync', l, ['--diff'], nobody);
    t.is(diff.code, 1, diff.stderr);
    t.regex(diff.stdout, /gateway-alice update: run write/);
    // The preview says that this user's own sync would not get that far.
    t.regex(
      diff.stderr,
      /warn: a real sync by this user would stop before changing anything \(exit 111\): cannot use \S+\/\.reconcile-gateways, .*it belongs to uid 0/,
    );
    t.deepEqual(diffSnapshot(before, snapshot(l.scandir)), [], 'the wrong user changed the scandir');
  },
);

needsRoot(test)('watch as the wrong user over a converged scandir root booted exits 111 at start, before it reports ready', async (t) => {
  const l = await makeWorld('wrong-user-watch');
  writeProfiles(l.home, { alice: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  // Nothing to change, so no pass would take the lock: the check at start is what refuses it.
  t.is((await runWorld('sync', l, ['--diff', '--container-argv', '[]'])).code, 0);
  const statusDir = path.join(l.root, 'status');
  fs.mkdirSync(statusDir);
  fs.chownSync(statusDir, 65534, 65534);
  const before = snapshot(l.scandir);
  const r = await runWorld('watch', l, ['--status-file', path.join(statusDir, 'status.json')], {
    uid: 65534,
    gid: 65534,
    timeoutMs: 30_000,
  });
  t.is(r.code, 111, r.stderr);
  t.regex(
    r.stderr,
    /cannot use \S+\/\.reconcile-gateways, the tool's state directory .*EACCES.*; it belongs to uid 0: run boot, sync and watch as that user, every time \(root in the Hermes image; hermes with RECONCILE_GATEWAYS_RUN_AS=hermes\)/,
  );
  t.notRegex(r.stderr, /watch started/);
  t.deepEqual(diffSnapshot(before, snapshot(l.scandir)), [], 'the wrong user changed the scandir');
});

test('watch checks the state directory at start without making it: with --lock-file elsewhere a converged scandir gets no write', async (t) => {
  const l = await makeWorld('watch-no-state-dir');
  writeProfiles(l.home, { alice: 'stopped' });
  const lock = ['--lock-file', path.join(l.root, 'run.lock')];
  t.is((await runWorld('boot', l, lock)).code, 0);
  fs.rmSync(path.join(l.scandir, '.reconcile-gateways'), { recursive: true, force: true });
  const before = snapshot(l.scandir);
  const statusFile = path.join(l.root, 'status.json');
  const run = startCli(worldCommand('watch', l, [...lock, '--status-file', statusFile]));
  await waitFor(
    () => fs.existsSync(statusFile) && (JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { passes: number }).passes >= 1,
    30_000,
    'the first pass',
  );
  run.child.kill('SIGTERM');
  const r = await run.done;
  t.is(r.code, 0, r.stderr);
  t.false(fs.existsSync(path.join(l.scandir, '.reconcile-gateways')), 'the state directory was made');
  t.deepEqual(diffSnapshot(before, snapshot(l.scandir)), []);
});

needsRoot(test)(
  'a watcher run as hermes survives a profile directory it cannot search: the pass skips it, the watcher runs on',
  async (t) => {
    const l = await makeWorld('watch-unsearchable');
    writeProfiles(l.home, { alice: 'running', locked: 'running' });
    execFileSync('chown', ['-R', '65534:65534', l.root]);
    fs.chmodSync(path.join(l.home, 'profiles', 'locked'), 0o644);
    const statusFile = path.join(l.root, 'status.json');
    const run = startCli(worldCommand('watch', l, ['--status-file', statusFile]), {
      uid: 65534,
      gid: 65534,
      timeoutMs: Number.POSITIVE_INFINITY,
    });
    await waitFor(
      () => fs.existsSync(statusFile) && (JSON.parse(fs.readFileSync(statusFile, 'utf8')) as { passes: number }).passes >= 1,
      30_000,
      'the first pass',
    );
    t.is(run.child.exitCode, null, 'the watcher is still running');
    t.true(fs.existsSync(path.join(l.scandir, 'gateway-alice', 'run')), 'the other profile got its slot');
    run.child.kill('SIGTERM');
    const r = await run.done;
    t.is(r.code, 0, r.stderr);
    t.regex(
      r.stderr,
      /profiles\/locked: skipped: .*EACCES.*; make it readable and searchable by the user running the tool \(root in the Hermes image/,
    );
  },
);

needsRoot(test)('a HERMES_HOME the running user cannot read exits 111 saying to run as one who can, or to point elsewhere', async (t) => {
  const l = await makeWorld('home-eacces');
  writeProfiles(l.home, { alice: 'running' });
  fs.chmodSync(l.home, 0o700);
  const { doc, ...result } = await runWorldJson('status', l, [], { uid: 65534, gid: 65534 });
  t.is(result.code, 111, result.stderr);
  t.is(
    doc.error?.message,
    `HERMES_HOME ${l.home} is unreadable (EACCES: permission denied); run as a user who can read it (root in the Hermes image), or point --hermes-home or HERMES_HOME at the Hermes data volume`,
  );
});

needsRoot(test)('a scandir the running user cannot read exits 111 saying to run as one who can, not only to point elsewhere', async (t) => {
  const l = await makeWorld('scandir-eacces');
  writeProfiles(l.home, { alice: 'running' });
  fs.chmodSync(l.scandir, 0o700);
  const { doc, ...result } = await runWorldJson('status', l, [], { uid: 65534, gid: 65534 });
  t.is(result.code, 111, result.stderr);
  t.regex(
    doc.error?.message ?? '',
    /^scandir .* is unusable: .*EACCES.*; run as a user who can read it \(root in the Hermes image\), or point --scandir/,
  );
});

test("a named profile's directory given as HERMES_HOME is refused (111), naming the volume: its state is not read as the root's", async (t) => {
  const l = await makeWorld('home-is-profile');
  writeProfiles(l.home, { writer: 'stopped' });
  fs.writeFileSync(path.join(l.home, 'SOUL.md'), 'soul\n'); // the root profile's
  t.is((await runWorld('boot', l)).code, 0);
  const before = snapshot(l.root);
  const profile = path.join(l.home, 'profiles', 'writer');
  for (const command of ['sync', 'status'] as const) {
    const { doc, ...result } = await runWorldJson(command, { ...l, home: profile });
    t.is(result.code, 111, result.stderr);
    t.is(
      doc.error?.message,
      `HERMES_HOME ${profile} looks like a named profile's directory, not the data volume (it holds a SOUL.md, sits in a profiles/ directory and has no profiles/ of its own), so its state would be read as the root profile's; point --hermes-home or HERMES_HOME at the volume, ${l.home}`,
    );
  }
  // Through a symlink too: what counts is where it leads.
  const link = path.join(os.tmpdir(), `rg-home-link-${process.pid}`);
  fs.rmSync(link, { force: true });
  t.teardown(() => fs.rmSync(link, { force: true }));
  fs.symlinkSync(profile, link);
  const linked = await runWorldJson('status', { ...l, home: link });
  t.is(linked.code, 111, linked.stderr);
  t.regex(linked.doc.error?.message ?? '', /looks like a named profile's directory/);
  t.deepEqual(diffSnapshot(before, snapshot(l.root)), [], 'a refused run changed something');
  // The volume itself, whose own directory may well be called anything, is accepted.
  t.is((await runWorld('sync', l)).code, 0);
  // So is a new volume that only sits in a directory called profiles/ (its parent has no root profile).
  const fresh = path.join(l.root, 'vols', 'profiles', 'tenant1');
  fs.mkdirSync(fresh, { recursive: true });
  fs.writeFileSync(path.join(fresh, 'SOUL.md'), 's');
  t.is((await runWorld('status', { ...l, home: fresh })).code, 0);
});

needsRoot(test)('a config this user may not read says to make it readable, not to check its path', async (t) => {
  const l = await makeWorld('config-eacces');
  writeProfiles(l.home, { alice: 'running' });
  fs.chmodSync(l.config, 0o600);
  const { doc, ...result } = await runWorldJson('status', l, [], { uid: 65534, gid: 65534 });
  t.is(result.code, 100, result.stderr);
  t.is(doc.error?.message, `cannot read config ${l.config}: EACCES: permission denied; make it readable by the user the tool runs as`);
});

needsRoot(test)('a lock file this user may not create says so, not "run as its owner" (it has none yet)', async (t) => {
  const l = await makeWorld('lock-eacces');
  writeProfiles(l.home, { alice: 'running' });
  fs.chownSync(l.scandir, 65534, 65534);
  const lock = path.join(l.root, 'locks', 'run.lock');
  fs.mkdirSync(path.dirname(lock), { mode: 0o755 });
  const { doc, ...result } = await runWorldJson('sync', l, ['--lock-file', lock], { uid: 65534, gid: 65534 });
  t.is(result.code, 111, result.stderr);
  t.is(
    doc.error?.message,
    `cannot open lock file ${lock} (EACCES: permission denied); it does not exist and this user cannot create it there: run as the user who owns its directory, or point --lock-file or RECONCILE_GATEWAYS_LOCK_FILE at a file in a directory only the user running the tool can write`,
  );
});

const CHANGED = { ...DEFAULT_SETTINGS, ...TEST_SETTINGS, gatewayCommand: '/bin/false' } as Settings;

async function pass(l: World, beforeOperation?: (op: { service: string }) => void): ReturnType<typeof applyPass> {
  const home = openRoot(l.home);
  const scandir = openRoot(l.scandir);
  try {
    const planned = planPass({
      mode: 'sync',
      home,
      scandir,
      hermesHome: l.home,
      settings: CHANGED,
      prune: true,
      allowEmpty: false,
      restartChanged: false,
      host: { argv: [], env: {}, config: { kind: 'missing' }, nowMs: Date.now() },
      isRoot: process.geteuid?.() === 0,
    });
    return await applyPass(planned, { sleep: () => undefined, ...(beforeOperation === undefined ? {} : { beforeOperation }) });
  } finally {
    closeDir(scandir);
    closeDir(home);
  }
}

test('an unexpected exception while applying one profile fails that profile alone, reported; the rest converge', async (t) => {
  const l = await makeWorld('exception');
  writeProfiles(l.home, { alice: 'running', bob: 'running', carol: 'running', dave: 'stopped' });
  t.is((await runWorld('boot', l)).code, 0);
  writeProfiles(l.home, { erin: 'running', frank: 'running', dave: 'running' });
  const doomed = new Set(['gateway-bob', 'gateway-erin', 'gateway-dave']);
  const result = await pass(l, (op) => {
    if (doomed.has(op.service)) throw new TypeError(`Cannot read properties of undefined (reading '${op.service}')`);
  });
  const failed = result.results.filter((r) => r.status === 'failed').map((r) => `${r.op.kind} ${r.op.service}: ${r.error ?? ''}`);
  t.deepEqual(failed.sort(), [
    "create gateway-erin: unexpected error: Cannot read properties of undefined (reading 'gateway-erin')",
    "up gateway-dave: unexpected error: Cannot read properties of undefined (reading 'gateway-dave')",
    "update gateway-bob: unexpected error: Cannot read properties of undefined (reading 'gateway-bob')",
    "update gateway-dave: unexpected error: Cannot read properties of undefined (reading 'gateway-dave')",
  ]);
  t.true(result.results.filter((r) => !doomed.has(r.op.service)).every((r) => r.status === 'applied'));
  t.is(exitCodeOf(result, false), 2);
  t.false(fs.existsSync(path.join(l.scandir, 'gateway-erin')));
  t.deepEqual(result.warnings, [], 'an isolated failure was reported as a convergence bug');
  t.is(exitCodeOf(await pass(l), false), 0, 'the next pass did not converge');
});

test('HERMES_HOME gone, or HERMES_HOME or the scandir not a directory, is fatal (111) and changes nothing', async (t) => {
  const l = await makeWorld('fatal');
  writeProfiles(l.home, { alice: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  const before = snapshot(l.root);
  const gone = { ...l, home: path.join(l.root, 'unmounted') };
  for (const command of ['boot', 'sync'] as const) {
    const { doc, ...result } = await runWorldJson(command, gone);
    t.is(result.code, 111);
    t.regex(doc.error?.message ?? '', /HERMES_HOME .*unmounted is missing/);
  }
  const fresh = { ...gone, scandir: path.join(l.root, 'fresh-scan') };
  t.is((await runWorld('boot', fresh)).code, 111);
  t.is((await runWorld('boot', { ...l, home: l.config })).code, 111);
  t.is((await runWorld('sync', { ...l, scandir: l.config })).code, 111);
  t.deepEqual(diffSnapshot(before, snapshot(l.root)), [], 'a fatal run changed something');
});
