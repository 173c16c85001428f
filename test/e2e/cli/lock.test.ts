/**
 * The run lock: an exclusive flock(2) on `<scandir>/.reconcile-gateways.lock` (or --lock-file).
 * Held by another process: exit 3 at once with an error document; with --wait the run completes
 * once the holder releases it. --diff never takes it.
 */
import test from 'ava';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadValidators } from '../../../src/cli/validate.js';
import { bootArgs, bootJson, runCli, sandbox, startCli } from '../../helpers/cli.js';
import { waitFor } from '../../helpers/s6.js';
import { killWatchers, readiness, startWatch } from '../../helpers/watcher.js';

/** The default lock, its private state directory made first (as the tool makes it). */
function stateLock(scandir: string): string {
  mkdirSync(path.join(scandir, '.reconcile-gateways'), { mode: 0o700, recursive: true });
  return path.join(scandir, '.reconcile-gateways', 'lock');
}

/** Holds an exclusive flock on `file` (flock(1) + a shell waiting on stdin) until released. */
async function holdLock(file: string): Promise<{ child: ChildProcessWithoutNullStreams; release(): Promise<void> }> {
  // --close: the shell does not inherit the descriptor, so flock(1) alone holds the lock.
  const child = spawn('flock', ['--exclusive', '--close', file, 'sh', '-c', 'echo locked; read line'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(() => out.includes('locked'), 10_000, `flock on ${file}`);
  return {
    child,
    async release() {
      if (child.exitCode === null && child.signalCode === null) child.stdin.end();
      await exited;
    },
  };
}

test('a held lock makes boot exit 3 at once with a valid error document and no change', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(box.scandir, { recursive: true });
  const holder = await holdLock(stateLock(box.scandir));
  t.teardown(() => holder.release());
  const r = await bootJson(box.home, box.scandir, [], { timeoutMs: 10_000 });
  t.is(r.code, 3);
  t.like(r.doc, { formatVersion: '2', error: { code: 'locked', exitCode: 3 } });
  t.true((await loadValidators()).validatePlan(r.doc));
  t.false(existsSync(path.join(box.scandir, 'gateway-default')));
  t.false(existsSync(path.join(box.home, 'logs')));
  const text = await runCli(bootArgs(box.home, box.scandir), { timeoutMs: 10_000 });
  t.is(text.code, 3);
  t.regex(text.stderr, /another reconcile-gateways run holds/);
  // It names the holder, so an operator knows what to wait for or stop.
  t.true(text.stderr.includes(`(pid ${holder.child.pid}: flock --exclusive --close `), text.stderr);
  t.true(text.stderr.split('\n')[0]?.endsWith('; add --wait to wait for it, or retry when it has finished'), text.stderr);
});

test('with --wait the run blocks while the lock is held and completes after release', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(box.scandir, { recursive: true });
  const holder = await holdLock(stateLock(box.scandir));
  t.teardown(() => holder.release());
  const run = startCli([...bootArgs(box.home, box.scandir), '--wait', '--output', 'json'], { timeoutMs: 20_000 });
  // It says that it waits, and for which lock: wait for that line rather than for a while.
  const waiting = await new Promise<string>((resolve) => {
    let seen = '';
    run.child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString('utf8');
      if (seen.includes('\n')) resolve(seen);
    });
    run.child.on('close', () => resolve(seen)); // ended without the line: the assertion below says so
  });
  t.is(
    waiting,
    `reconcile-gateways: info: another reconcile-gateways run holds ${stateLock(box.scandir)} ` +
      `(pid ${holder.child.pid}: flock --exclusive --close ${stateLock(box.scandir)} sh -c "echo locked; read line"); waiting for it to finish (--wait)\n`,
  );
  t.false(existsSync(path.join(box.scandir, 'gateway-default')), 'nothing applied while the lock is held');
  // The pass reads the host facts once it holds the lock: a config.yaml changed during the wait counts.
  await writeFile(path.join(box.home, 'config.yaml'), 'multiplex_profiles: [\n');
  await holder.release();
  const r = await run.done;
  t.is(r.code, 0, r.stderr);
  t.is((JSON.parse(r.stdout) as { operations: unknown[] }).operations.length, 1);
  t.true(existsSync(path.join(box.scandir, 'gateway-default/run')));
  t.regex(r.stderr, /config\.yaml is not valid YAML/, 'the config.yaml written during the wait is the one the pass read');
});

test('a watch pass that has work waits for a held lock and says so at warn level, then applies once it is free', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(box.scandir, { recursive: true });
  const lock = stateLock(box.scandir);
  const holder = await holdLock(lock);
  t.teardown(() => holder.release());
  const w = startWatch({ root: box.root, flags: bootArgs(box.home, box.scandir).slice(1) }, ['--log-level', 'warn']);
  t.teardown(() => killWatchers());
  await waitFor(() => w.stderr.includes('\n'), 20_000, 'the watcher to say why its first pass waits');
  t.is(
    w.stderr,
    `reconcile-gateways: warn: another reconcile-gateways run holds ${lock} (pid ${holder.child.pid}: ` +
      `flock --exclusive --close ${lock} sh -c "echo locked; read line"); this pass waits for it to finish (no pass completes meanwhile)\n`,
  );
  t.false(existsSync(path.join(box.scandir, 'gateway-default')), 'nothing applied while the lock is held');
  await holder.release();
  t.is(await readiness(w), '\n', 'ready once its first pass completed');
  t.true(existsSync(path.join(box.scandir, 'gateway-default/run')));
  w.child.kill('SIGTERM');
  t.is(await w.exited, 0);
});

test('--lock-file moves the lock; the default one is then neither taken nor created', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const lock = path.join(box.root, 'custom.lock');
  const holder = await holdLock(lock);
  t.teardown(() => holder.release());
  t.is((await runCli(bootArgs(box.home, box.scandir, '--lock-file', lock), { timeoutMs: 10_000 })).code, 3);
  await holder.release();
  t.is((await runCli(bootArgs(box.home, box.scandir, '--lock-file', lock))).code, 0);
  t.false(existsSync(path.join(box.scandir, '.reconcile-gateways', 'lock')));
  t.true(existsSync(lock), 'the lock file is never deleted');
});

test('--diff takes no lock: it runs while another run holds it', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await mkdir(box.scandir, { recursive: true });
  const holder = await holdLock(stateLock(box.scandir));
  t.teardown(() => holder.release());
  const r = await runCli(bootArgs(box.home, box.scandir, '--diff'), { timeoutMs: 10_000 });
  t.is(r.code, 1, r.stderr);
});
