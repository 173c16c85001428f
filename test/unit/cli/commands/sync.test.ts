/** `sync` run in-process on a temp HERMES_HOME and scandir (no s6 needed: nothing is supervised). */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { runSync } from '../../../../src/cli/commands/sync.js';
// Loaded up front: under tsc's unbundled build, two tests importing it at once for the first time
// can get prom-client's CommonJS exports unfinished from Node 20's ESM loader ("Registry is not a
// constructor"). The shipped bundle inlines prom-client, so the CLI itself never meets this.
import '../../../../src/watch/metrics.js';
import { loadValidators } from '../../../../src/cli/validate.js';
import { FatalError, LockHeldError } from '../../../../src/errors.js';
import { takeLock } from '../../../../src/cli/run-lock.js';
import { captureIo, linesOf, recordingLogger, world } from '../support.js';

const RUNNING = { desired_state: 'running' };
const STOPPED = { desired_state: 'stopped' };

async function sync(w: Awaited<ReturnType<typeof world>>, ...extra: string[]) {
  const io = captureIo();
  const { logger, records } = recordingLogger();
  const code = await runSync(w.args('sync', ...extra), io, logger);
  return { code, out: io.out(), err: io.err(), records };
}

test('sync creates a slot per profile, up for running intents and down otherwise, then converges', async (t) => {
  const w = await world(t, { a: RUNNING, b: STOPPED });
  const first = await sync(w);
  t.is(first.code, 0);
  t.true(fs.existsSync(path.join(w.scandir, 'gateway-a', 'run')));
  t.false(fs.existsSync(path.join(w.scandir, 'gateway-a', 'down')));
  t.true(fs.existsSync(path.join(w.scandir, 'gateway-b', 'down')));
  t.true(first.out.includes('reconcile: applied service=gateway-a kind=create reason="slot missing"\n'));
  const second = await sync(w);
  t.is(second.code, 0);
  t.true(linesOf(second.out).at(-1)?.includes(' create=0 update=0 restart=0 up=0 down=0 remove=0 '));
});

test('a changed intent is applied: the down marker follows desired_state', async (t) => {
  const w = await world(t, { a: RUNNING });
  await sync(w);
  fs.writeFileSync(path.join(w.home, 'profiles', 'a', 'gateway_state.json'), JSON.stringify(STOPPED));
  const r = await sync(w);
  t.is(r.code, 0);
  t.true(r.out.includes('service=gateway-a kind=down'));
  t.true(fs.existsSync(path.join(w.scandir, 'gateway-a', 'down')));
});

test('sync prunes the slot of a deleted profile, and --no-prune keeps it', async (t) => {
  const w = await world(t, { a: RUNNING, b: RUNNING });
  await sync(w);
  fs.rmSync(path.join(w.home, 'profiles', 'b'), { recursive: true });
  const kept = await sync(w, '--no-prune');
  t.true(fs.existsSync(path.join(w.scandir, 'gateway-b')));
  t.false(kept.out.includes('kind=remove'));
  const pruned = await sync(w);
  t.true(pruned.out.includes('service=gateway-b kind=remove'));
  t.false(fs.existsSync(path.join(w.scandir, 'gateway-b')));
});

test('--diff shows what would change, changes nothing and exits 1', async (t) => {
  const w = await world(t, { a: RUNNING });
  const before = fs.readdirSync(w.scandir);
  const r = await sync(w, '--diff');
  t.is(r.code, 1);
  t.deepEqual(fs.readdirSync(w.scandir), before, 'a dry run writes nothing, not even the state directory');
  t.true(r.out.includes('gateway-a create: slot missing (starts)\n'));
  t.true(linesOf(r.out).at(-1)?.endsWith('(dry run: nothing changed)'));
});

test('--diff over a scandir that does not exist refuses it as sync would, and creates nothing', async (t) => {
  const w = await world(t, { a: RUNNING }, { scandir: 'missing' });
  await t.throwsAsync(sync(w, '--diff'), {
    instanceOf: FatalError,
    message: /^scandir \S+ does not exist; boot creates it, sync and watch do not/,
  });
  t.false(fs.existsSync(w.scandir));
});

test('--output json prints one document that satisfies plan.schema.json', async (t) => {
  const w = await world(t, { a: RUNNING });
  const r = await sync(w, '--output', 'json');
  const doc = JSON.parse(r.out) as Record<string, unknown>;
  const { validatePlan } = await loadValidators();
  t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
  t.like(doc, { mode: 'sync', dryRun: false, exitCode: 0, hermesHome: w.home, scandir: w.scandir });
});

test('--metrics-file writes the pass’s metrics for the textfile collector', async (t) => {
  const w = await world(t, { a: RUNNING });
  const file = path.join(w.root, 'rg.prom');
  t.is((await sync(w, '--metrics-file', file)).code, 0);
  const text = fs.readFileSync(file, 'utf8');
  t.true(text.includes('reconcile_gateways_passes_total{trigger="once",result="converged"} 1'));
  t.true(text.includes('reconcile_gateways_operations_total{kind="create",result="applied"} 2'));
});

test('--diff writes no metrics file, and says so', async (t) => {
  const w = await world(t, { a: RUNNING });
  const file = path.join(w.root, 'rg.prom');
  const r = await sync(w, '--diff', '--metrics-file', file);
  t.is(r.code, 1);
  t.false(fs.existsSync(file));
  t.true(r.records.some((x) => x.level === 'info' && x.message === `--metrics-file ${file} not written: --diff changes nothing`));
});

test('a metrics file in a directory that does not exist, or a directory at its path, is refused before the pass runs', async (t) => {
  const w = await world(t, { a: RUNNING });
  const missing = path.join(w.root, 'no-such-dir', 'rg.prom');
  await t.throwsAsync(sync(w, '--metrics-file', missing), {
    instanceOf: FatalError,
    message: `--metrics-file ${missing}: its directory ${path.dirname(missing)} does not exist (create it, or correct the path); point --metrics-file at a file in an existing directory (leave the flag out to write no metrics file)`,
  });
  const dir = path.join(w.root, 'a-dir');
  fs.mkdirSync(dir);
  await t.throwsAsync(sync(w, '--metrics-file', dir), {
    instanceOf: FatalError,
    message: `--metrics-file ${dir}: it is a directory; point --metrics-file at a file in an existing directory (leave the flag out to write no metrics file)`,
  });
  for (const named of [`${path.join(w.root, 'new')}/`, `${path.join(w.root, 'nothere')}/.`, `${path.join(w.root, 'nothere')}/..`]) {
    await t.throwsAsync(sync(w, '--metrics-file', named), {
      instanceOf: FatalError,
      message: `--metrics-file ${named}: a path ending in /, /. or /.. names a directory; point --metrics-file at a file in an existing directory (leave the flag out to write no metrics file)`,
    });
  }
  t.false(fs.existsSync(path.join(w.scandir, 'gateway-a')), 'nothing ran');
});

test('a second sync while one holds the lock is refused (exit 3 upstream of here)', async (t) => {
  const w = await world(t, { a: RUNNING });
  await sync(w);
  const { openScandir } = await import('../../../../src/cli/pass.js');
  const scandir = openScandir(w.scandir, 'empty');
  const held = await takeLock(w.args('sync'), scandir, false);
  t.teardown(() => held.release());
  await t.throwsAsync(sync(w), { instanceOf: LockHeldError });
});

test('a container of role none registers nothing', async (t) => {
  const w = await world(t, { a: RUNNING }, { scandir: 'missing' });
  const r = await sync(w, '--role', 'none');
  t.is(r.code, 0);
  t.is(r.out, 'reconcile: skipping (role none \u2014 this container registers and removes no gateways)\n');
  t.false(fs.existsSync(w.scandir));
});
