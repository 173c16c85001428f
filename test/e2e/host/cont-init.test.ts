/**
 * examples/cont-init.d/02-reconcile-profiles: valid sh, upstream's preparation, and the boot
 * invocation. It is run by sh with stubs for chown and s6-setuidgid (there is no hermes user here)
 * in front of PATH; `reconcile-gateways` is the real built CLI.
 */
import test, { type ExecutionContext } from 'ava';
import { NO_GLOBAL_INSTALL, needs } from '../../helpers/needs.js';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../helpers/s6.js';
import { makeHermesHome, removeTree, tempDir } from '../../helpers/tree.js';
import { MAIN } from '../../helpers/cli.js';
import { TEST_SETTINGS } from '../../helpers/cli.js';

const SCRIPT = path.join(repoRoot(), 'examples', 'cont-init.d', '02-reconcile-profiles');

test('the script is valid sh with upstream shebang and set -e, and runs the boot', async (t) => {
  execFileSync('sh', ['-n', SCRIPT]);
  const text = await readFile(SCRIPT, 'utf8');
  const lines = text.split('\n');
  t.is(lines[0], '#!/command/with-contenv sh');
  t.true(lines.includes('set -e'));
  t.regex(text, /^\s*run_boot reconcile-gateways boot --wait --lock-file "\$lock_file"$/m);
  t.regex(text, /^\s*run_boot s6-setuidgid hermes reconcile-gateways boot --wait --lock-file "\$lock_file"$/m);
  t.regex(
    text,
    /^lock_file="\$\{RECONCILE_GATEWAYS_LOCK_FILE:-\/run\/reconcile-gateways\/run.lock\}"$/m,
    'the lock is outside the scandir',
  );
  t.regex(text, /s6-svscan -c|`-c N`/, 'the note on more than 500 services');
});

test("the image's environment names the scripts' lock, so an operator's docker exec sync shares it", async (t) => {
  const watchRun = await readFile(path.join(repoRoot(), 'examples', 's6', 'reconcile-gateways-watch', 'run'), 'utf8');
  t.true(watchRun.includes('--lock-file "${RECONCILE_GATEWAYS_LOCK_FILE:-/run/reconcile-gateways/run.lock}"'));
  for (const doc of ['README.md', path.join('docs', 'install.md')]) {
    const text = await readFile(path.join(repoRoot(), doc), 'utf8');
    t.regex(text, /^ENV RECONCILE_GATEWAYS_LOCK_FILE=\/run\/reconcile-gateways\/run\.lock$/m, doc);
  }
});

interface Box {
  readonly root: string;
  readonly home: string;
  readonly scandir: string;
  readonly calls: string;
  readonly env: Record<string, string>;
}

/** Stubs chown and s6-setuidgid (recording their argv), wraps the real CLI, builds home and scandir. */
async function sandbox(t: ExecutionContext, prefix: string): Promise<Box> {
  const root = await tempDir(`rg-contint-${prefix}-`);
  t.teardown(() => removeTree(root));
  const bin = path.join(root, 'bin');
  const calls = path.join(root, 'calls');
  await mkdir(bin);
  const stub = (body: string): string => `#!/bin/sh\n${body}\n`;
  // CHOWN_FAIL=1: every chown fails, as with no hermes group or a read-only file system.
  await writeFile(
    path.join(bin, 'chown'),
    stub(`echo "chown $*" >> "${calls}"\n[ -z "$CHOWN_FAIL" ] && exit 0\necho "chown: invalid group: '$2'" >&2\nexit 1`),
    { mode: 0o755 },
  );
  await writeFile(path.join(bin, 's6-setuidgid'), stub(`echo "s6-setuidgid $*" >> "${calls}"\nshift\nexec "$@"`), { mode: 0o755 });
  // --container-argv: /proc of this test machine may hold other tests' CLI runs naming main-wrapper.sh.
  await writeFile(
    path.join(bin, 'reconcile-gateways'),
    stub(
      `echo "reconcile-gateways $*" >> "${calls}"\n[ -z "$STUB_EXIT" ] || exit "$STUB_EXIT"\nexec "${process.execPath}" "${MAIN}" "$@" --container-argv '[]'`,
    ),
    { mode: 0o755 },
  );
  const home = path.join(root, 'home');
  await makeHermesHome(home, { coder: { state: { desired_state: 'running' } } });
  const scandir = path.join(root, 'scan');
  await mkdir(path.join(scandir, '.s6-svscan'), { recursive: true });
  execFileSync('mkfifo', [path.join(scandir, '.s6-svscan', 'control')]);
  await writeFile(path.join(scandir, '.s6-svscan', 'lock'), '');
  const config = path.join(root, 'config.json');
  await writeFile(config, JSON.stringify(TEST_SETTINGS));
  const env = {
    PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    HERMES_HOME: home,
    S6_PROFILE_GATEWAY_SCANDIR: scandir,
    RECONCILE_GATEWAYS_CONFIG: config,
    RECONCILE_GATEWAYS_LOCK_FILE: path.join(root, 'lock', 'run.lock'),
  };
  return { root, home, scandir, calls, env };
}

function runScript(box: Box, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', [SCRIPT], { env: { ...box.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
    });
  });
}

async function callsOf(box: Box): Promise<string[]> {
  return existsSync(box.calls) ? (await readFile(box.calls, 'utf8')).trimEnd().split('\n') : [];
}

test('as root (the default) it boots with the lock outside the scandir, then makes the scandir root:hermes and sticky and hands .s6-svscan control/lock to hermes', async (t) => {
  const box = await sandbox(t, 'root');
  const run = await runScript(box);
  t.is(run.code, 0, run.stderr);
  t.is(statSync(box.scandir).mode & 0o7777, 0o1775, 'the scandir is sticky, so hermes cannot rename root entries');
  t.deepEqual(await callsOf(box), [
    `reconcile-gateways boot --wait --lock-file ${box.env['RECONCILE_GATEWAYS_LOCK_FILE']}`,
    `chown -h root:hermes ${box.scandir}`,
    `chown -h hermes:hermes ${box.scandir}/.s6-svscan/control`,
    `chown -h hermes:hermes ${box.scandir}/.s6-svscan/lock`,
  ]);
  t.true(run.stdout.includes('reconcile: profile=coder prior_state=running action=started'), run.stdout);
  t.true(existsSync(path.join(box.scandir, 'gateway-coder', 'run')));
  t.false(existsSync(path.join(box.scandir, '.reconcile-gateways.lock')), 'no lock file in the hermes-writable scandir');
  t.true(existsSync(box.env['RECONCILE_GATEWAYS_LOCK_FILE'] ?? ''));
  t.false(existsSync(path.join(box.scandir, 'gateway-coder', 'down')));
  t.true(existsSync(path.join(box.scandir, 'gateway-default', 'down')));
});

test('a chown that fails leaves the scandir as it was, not group-writable to its old group, and never fails the step', async (t) => {
  const box = await sandbox(t, 'chown-fails');
  const before = statSync(box.scandir).mode & 0o7777;
  const root = await runScript(box, { CHOWN_FAIL: '1' });
  t.is(root.code, 0, root.stderr);
  t.is(statSync(box.scandir).mode & 0o7777, before, 'no chmod 1775 without the hermes group');
  // One line per failed chown, carrying chown's own error (not chown's line, then ours).
  t.regex(root.stderr, /warning: could not chown \S+ to root:hermes \(chown: invalid group: '\S+'\); hermes cannot register slots/);
  t.false(
    root.stderr.split('\n').some((l) => l.startsWith('chown:')),
    root.stderr,
  );
  const hermes = await runScript(box, { CHOWN_FAIL: '1', RECONCILE_GATEWAYS_RUN_AS: 'hermes' });
  t.is(hermes.code, 0, hermes.stderr);
  t.regex(hermes.stderr, /warning: could not chown \S+ to hermes:hermes \(chown: [^)]*\); boot will say why it cannot take its lock/);
});

test('a directory the script cannot create is one error line naming what it is for, and exit 111; a bad RUN_AS names its value', async (t) => {
  const box = await sandbox(t, 'mkdir-fails');
  await writeFile(path.join(box.root, 'file'), '');
  const lock = path.join(box.root, 'file', 'sub', 'run.lock');
  const run = await runScript(box, { RECONCILE_GATEWAYS_LOCK_FILE: lock });
  t.is(run.code, 111);
  t.regex(
    run.stderr,
    /^\[reconcile-profiles\] error: cannot create \S+\/file\/sub, the run lock's directory \(RECONCILE_GATEWAYS_LOCK_FILE\) \(mkdir: .*\)\n$/,
  );
  const bogus = await runScript(box, { RECONCILE_GATEWAYS_RUN_AS: 'bogus' });
  t.is(bogus.code, 100);
  t.is(bogus.stderr, '[reconcile-profiles] error: RECONCILE_GATEWAYS_RUN_AS must be root or hermes (got "bogus")\n');
});

test('a missing scandir is created by boot before it is handed to hermes, never chowned while absent', async (t) => {
  const box = await sandbox(t, 'missing');
  await removeTree(box.scandir);
  const run = await runScript(box);
  t.is(run.code, 0, run.stderr);
  const calls = await callsOf(box);
  t.true(calls[0]?.startsWith('reconcile-gateways boot '), calls.join('\n'));
  t.is(calls[1], `chown -h root:hermes ${box.scandir}`);
  t.true(existsSync(path.join(box.scandir, 'gateway-coder', 'run')));
});

test('RECONCILE_GATEWAYS_RUN_AS=hermes creates a missing scandir with a message, hands it over, then drops to hermes', async (t) => {
  const box = await sandbox(t, 'hermes');
  await removeTree(box.scandir);
  const run = await runScript(box, { RECONCILE_GATEWAYS_RUN_AS: 'hermes' });
  t.is(run.code, 0, run.stderr);
  t.true(run.stderr.split('\n').includes(`[reconcile-profiles] creating the missing scandir ${box.scandir} for hermes`), run.stderr);
  const calls = await callsOf(box);
  const lock = box.env['RECONCILE_GATEWAYS_LOCK_FILE'] ?? '';
  const boot = `reconcile-gateways boot --wait --lock-file ${lock}`;
  const expected = process.geteuid?.() === 0 ? [`s6-setuidgid hermes ${boot}`, boot] : [boot];
  t.deepEqual(calls, [`chown -h hermes:hermes ${box.scandir}`, `chown -h hermes:hermes ${path.dirname(lock)}`, ...expected]);
  t.true(existsSync(path.join(box.scandir, 'gateway-coder', 'run')));
});

test('a symlinked .s6-svscan is never chowned through, and a missing one is skipped', async (t) => {
  const box = await sandbox(t, 'link');
  const elsewhere = path.join(box.root, 'elsewhere');
  await mkdir(elsewhere);
  await writeFile(path.join(elsewhere, 'control'), '');
  await removeTree(path.join(box.scandir, '.s6-svscan'));
  await symlink(elsewhere, path.join(box.scandir, '.s6-svscan'));
  t.is((await runScript(box, { STUB_EXIT: '0' })).code, 0);
  t.deepEqual(await callsOf(box), [
    `reconcile-gateways boot --wait --lock-file ${box.env['RECONCILE_GATEWAYS_LOCK_FILE']}`,
    `chown -h root:hermes ${box.scandir}`,
  ]);
});

test('a partial failure (exit 2) lets the container start; lock, usage and fatal errors fail the step', async (t) => {
  const box = await sandbox(t, 'codes');
  const partial = await runScript(box, { STUB_EXIT: '2' });
  t.is(partial.code, 0);
  t.regex(partial.stderr, /some profiles were not registered/);
  for (const code of ['3', '100', '111']) t.is((await runScript(box, { STUB_EXIT: code })).code, Number(code), code);
  // s6-overlay's default carries on after a failed step: the scandir is still handed to hermes.
  const calls = await callsOf(box);
  const afterLastBoot = calls.slice(calls.map((c) => c.startsWith('reconcile-gateways boot')).lastIndexOf(true) + 1);
  t.true(afterLastBoot.includes(`chown -h root:hermes ${box.scandir}`), calls.join('\n'));
  t.is((await runScript(box, { RECONCILE_GATEWAYS_RUN_AS: 'nobody', STUB_EXIT: '0' })).code, 100);
});

needs(test, NO_GLOBAL_INSTALL)(
  'without the tool installed it fails at once with a line that says so, not a bare shell error',
  async (t) => {
    const box = await sandbox(t, 'missing');
    await rm(path.join(box.root, 'bin', 'reconcile-gateways'));
    const r = await runScript(box, { PATH: `${path.join(box.root, 'bin')}:/usr/bin:/bin` });
    t.is(r.code, 111);
    t.regex(
      r.stderr,
      /^\[reconcile-profiles\] error: reconcile-gateways is not installed \(not found on PATH \S+:\/usr\/local\/bin\); install it in the image/m,
    );
    t.deepEqual(await callsOf(box), [], 'nothing ran: no chown, no boot');
  },
);
