/**
 * `watch` run in-process on a temp HERMES_HOME and scandir, stopped the way s6 stops it: a
 * SIGTERM, delivered here as the process event (signals are process-wide, so these run serially).
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { runWatch, summaryLine } from '../../../../src/cli/commands/watch.js';
import { loadValidators } from '../../../../src/cli/validate.js';
import { LockHeldError } from '../../../../src/errors.js';
import type { PassSummary } from '../../../../src/watch/status-file.js';
import { waitFor } from '../../../helpers/s6.js';
import { captureIo, recordingLogger, type World, world } from '../support.js';

const SUMMARY: PassSummary = {
  startedAt: '2026-12-06T03:00:00.000Z',
  finishedAt: '2026-12-06T03:00:00.040Z',
  durationMs: 40,
  scope: 'full',
  trigger: 'interval',
  result: 'converged',
  exitCode: 0,
  warnings: [],
  counts: { create: 1, update: 0, restart: 0, up: 0, down: 0, remove: 0, heal: 0, failed: 0, held: 0, restartPending: 0 },
  drift: { IntentRunningButDown: 0, CrashLooping: 1, IntentStoppedButUp: 0, LoggerDown: 0 },
  changed: ['gateway-a'],
  drifting: ['gateway-b'],
};

test('the pass line has the trigger, scope, counts, drift, changed and drifting services and duration', (t) => {
  t.is(
    summaryLine(SUMMARY),
    'reconcile: pass trigger=interval scope=full result=converged create=1 update=0 restart=0 up=0 down=0 remove=0 purge=0 heal=0 failed=0 held=0 restart_pending=0 running_but_down=0 crash_looping=1 stopped_but_up=0 logger_down=0 services=gateway-a drifting=gateway-b duration_ms=40',
  );
});

test('a pass that only picked slots up prints its line, with pickup=N (absent when zero)', (t) => {
  const counts = { create: 0, update: 0, up: 0, down: 0, remove: 0, heal: 0, pickup: 2, failed: 0, held: 0, restartPending: 0 };
  const { drift: _drift, ...noDrift } = SUMMARY;
  t.regex(summaryLine({ ...noDrift, counts }), / heal=0 pickup=2 failed=0 /);
  t.notRegex(summaryLine(SUMMARY), /pickup/);
});

test('a targeted pass names its profiles; a failed pass gives its error instead of counts', async (t) => {
  const { counts: _c, drift: _d, changed: _s, drifting: _g, ...bare } = SUMMARY;
  const failed: PassSummary = {
    ...bare,
    scope: 'targeted',
    profiles: ['a', 'b'],
    result: 'error',
    error: { code: 'fatal', message: 'scandir gone', terminal: false },
  };
  t.is(summaryLine(failed), 'reconcile: pass trigger=interval scope=targeted(a,b) result=error error="scandir gone" duration_ms=40');
  // The same pass as a --output json line satisfies its schema.
  const { validateWatchLine } = await loadValidators();
  t.true(validateWatchLine?.({ formatVersion: '2', pass: failed }), JSON.stringify(validateWatchLine?.errors));
  t.false(validateWatchLine?.(failed), 'a bare summary, without formatVersion, is not a line');
});

test('changed services are escaped and cut after five', (t) => {
  const changed = ['gateway-a\nreconcile: forged', 'gateway-b', 'gateway-c', 'gateway-d', 'gateway-e', 'gateway-f', 'gateway-g'];
  const line = summaryLine({ ...SUMMARY, changed });
  t.false(line.includes('\n'));
  t.true(
    line.includes(
      ' services=gateway-a\\nreconcile: forged,gateway-b,gateway-c,gateway-d,gateway-e,+2 more drifting=gateway-b duration_ms=40',
    ),
  );
});

/** A converged pass that read no drift: its line has no drift fields. */
const PLAIN: PassSummary = {
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:00.010Z',
  durationMs: 10,
  scope: 'full',
  trigger: 'event',
  result: 'converged',
  exitCode: 0,
  counts: { create: 7, update: 0, restart: 1, up: 0, down: 0, remove: 0, heal: 0, failed: 0, held: 0, restartPending: 0 },
  warnings: [],
};

test('a pass line without drift has no drift fields; its changed services are the first five then how many more', (t) => {
  const changed = ['gateway-a', 'gateway-b', 'gateway-c', 'gateway-d', 'gateway-e', 'gateway-f', 'gateway-g'];
  t.is(
    summaryLine({ ...PLAIN, changed }),
    'reconcile: pass trigger=event scope=full result=converged create=7 update=0 restart=1 up=0 down=0 remove=0 purge=0 heal=0 failed=0 held=0 ' +
      'restart_pending=0 services=gateway-a,gateway-b,gateway-c,gateway-d,gateway-e,+2 more duration_ms=10',
  );
});

test('a pass line without changes names no services', (t) => {
  t.false(summaryLine(PLAIN).includes('services='));
});

test('a targeted pass line names its first five profiles, escaped and quoted, so a profile name cannot forge a line or a field', (t) => {
  const profiles = ['a', 'b\nreconcile: applied service=gateway-root kind=create', 'c d=e', 'f', 'g', 'h', 'i'];
  const line = summaryLine({ ...PLAIN, scope: 'targeted', profiles });
  t.false(line.includes('\n'), line);
  t.true(line.includes(' scope="targeted(a,b\\nreconcile: applied service=gateway-root kind=create,c d=e,f,g,+2 more)" result='), line);
});

test('a pass line counts the slots it purged from the trash', (t) => {
  const counts = { create: 0, update: 0, restart: 0, up: 0, down: 0, remove: 0, purge: 40, heal: 0, failed: 0, held: 0, restartPending: 0 };
  t.regex(summaryLine({ ...PLAIN, counts }), / remove=0 purge=40 heal=0 /);
});

/** A file opened for writing, standing in for s6's notification pipe. */
function notificationFd(w: World): { fd: number; file: string } {
  const file = path.join(w.root, 'notify');
  return { fd: fs.openSync(file, 'a'), file };
}

/** Whether descriptor `fd` of this process still refers to `file`. */
function fdNames(fd: number, file: string): boolean {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
  } catch {
    return false;
  }
}

test.serial('watch converges, writes its status, signals readiness once and closes the fd, then stops on SIGTERM', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const { fd, file } = notificationFd(w);
  t.teardown(() => {
    if (fdNames(fd, file)) fs.closeSync(fd);
  });
  const io = captureIo();
  const running = runWatch(w.args('watch', '--ready-fd', String(fd), '--interval', '3600'), io, recordingLogger().logger);
  // A failed assertion must not leave the watcher running, nor writing into a removed directory.
  t.teardown(async () => {
    process.emit('SIGTERM');
    await running.catch(() => undefined);
  });
  await waitFor(() => fs.existsSync(w.statusFile) && fs.readFileSync(file, 'utf8') === '\n', 60_000, 'the first pass');
  t.true(fs.existsSync(path.join(w.scandir, 'gateway-a', 'run')));
  t.false(fdNames(fd, file), 'the readiness fd is closed after the newline');
  // A second watcher with the same status file is refused while this one runs.
  await t.throwsAsync(runWatch(w.args('watch'), captureIo(), recordingLogger().logger), { instanceOf: LockHeldError });
  process.emit('SIGTERM');
  t.is(await running, 0);
  t.is(fs.readFileSync(file, 'utf8'), '\n');
  const doc = JSON.parse(fs.readFileSync(w.statusFile, 'utf8')) as { ready: boolean; passes: number; pid: number };
  const { validateStatusFile } = await loadValidators();
  t.true(validateStatusFile?.(doc), JSON.stringify(validateStatusFile?.errors));
  t.like(doc, { ready: true, pid: process.pid, stopped: { by: 'SIGTERM' } });
  t.true(io.out().startsWith('reconcile: pass trigger=start scope=full result=converged create=2 '));
});

test.serial(
  'watch on a scandir that does not exist creates none: its pass fails, is retried, and converges once the scandir appears',
  async (t) => {
    const w = await world(t, { a: { desired_state: 'running' } }, { scandir: 'missing' });
    const { fd, file } = notificationFd(w);
    t.teardown(() => {
      if (fdNames(fd, file)) fs.closeSync(fd);
    });
    const io = captureIo();
    const { logger, records } = recordingLogger();
    const running = runWatch(w.args('watch', '--ready-fd', String(fd), '--interval', '3600'), io, logger);
    // A failed assertion must not leave the watcher running, nor writing into a removed directory.
    t.teardown(async () => {
      process.emit('SIGTERM');
      await running.catch(() => undefined);
    });
    type Status = { ready: boolean; passes: number; lastPass: { result: string; trigger: string; error?: { message: string } } | null };
    const status = (): Status | undefined =>
      fs.existsSync(w.statusFile) ? (JSON.parse(fs.readFileSync(w.statusFile, 'utf8')) as Status) : undefined;
    await waitFor(() => status()?.lastPass?.result === 'error', 60_000, 'the first pass to fail');
    t.like(status(), { ready: false });
    t.regex(status()?.lastPass?.error?.message ?? '', /^scandir \S+ does not exist; boot creates it, sync and watch do not/);
    // Retries (after 1 s, then 2 s) print their pass lines; the error itself is logged once.
    await waitFor(() => (status()?.passes ?? 0) >= 3, 60_000, 'two retries');
    t.like(status()?.lastPass, { result: 'error', trigger: 'retry' });
    const passLines = (): number =>
      io
        .out()
        .split('\n')
        .filter((l) => l.startsWith('reconcile: pass ')).length;
    await waitFor(() => passLines() >= 3, 60_000, 'a pass line per retry');
    t.is(records.filter((r) => r.level === 'error' && r.message.startsWith('pass failed: ')).length, 1, JSON.stringify(records));
    t.false(fs.existsSync(w.scandir), 'watch created the scandir');
    fs.mkdirSync(w.scandir, { recursive: true });
    await waitFor(() => fs.readFileSync(file, 'utf8') === '\n', 60_000, 'readiness after the scandir appeared');
    t.true(fs.existsSync(path.join(w.scandir, 'gateway-a', 'run')));
    t.true(records.some((r) => r.level === 'info' && r.message.startsWith('passes complete again (they failed with: scandir ')));
    process.emit('SIGTERM');
    t.is(await running, 0);
  },
);

test.serial('with --output json each pass line is a JSON summary', async (t) => {
  const w = await world(t, { a: {} });
  const io = captureIo();
  const running = runWatch(w.args('watch', '--output', 'json', '--interval', '3600'), io, recordingLogger().logger);
  // A failed assertion must not leave the watcher running, nor writing into a removed directory.
  t.teardown(async () => {
    process.emit('SIGTERM');
    await running.catch(() => undefined);
  });
  await waitFor(() => io.out().includes('\n'), 60_000, 'the first pass line');
  process.emit('SIGTERM');
  t.is(await running, 0);
  const line: unknown = JSON.parse(io.out().split('\n')[0] ?? '');
  const { validateWatchLine } = await loadValidators();
  t.true(validateWatchLine?.(line), JSON.stringify(validateWatchLine?.errors));
  t.like(line as { pass: PassSummary }, { formatVersion: '2', pass: { trigger: 'start', scope: 'full', result: 'converged' } });
});

test.serial('a container of role none idles: it says why, reports ready and exits 0 on SIGTERM', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } }, { scandir: 'missing' });
  const { fd, file } = notificationFd(w);
  t.teardown(() => {
    if (fdNames(fd, file)) fs.closeSync(fd);
  });
  const io = captureIo();
  const running = runWatch(w.args('watch', '--role', 'none', '--ready-fd', String(fd)), io, recordingLogger().logger);
  // A failed assertion must not leave the watcher running, nor writing into a removed directory.
  t.teardown(async () => {
    process.emit('SIGTERM');
    await running.catch(() => undefined);
  });
  await waitFor(() => fs.readFileSync(file, 'utf8') === '\n', 60_000, 'readiness');
  t.false(fdNames(fd, file));
  process.emit('SIGTERM');
  t.is(await running, 0);
  t.is(io.out(), 'reconcile: skipping (role none \u2014 this container registers and removes no gateways)\n');
  t.false(fs.existsSync(w.scandir), 'nothing registered');
});

test.serial('a --ready-fd that is not open is refused before anything starts', async (t) => {
  const w = await world(t);
  await t.throwsAsync(runWatch(w.args('watch', '--ready-fd', '1000'), captureIo(), recordingLogger().logger), {
    message: /^watch: --ready-fd 1000 is not a descriptor s6 opened for writing \(it is not open\)/,
  });
  t.false(fs.existsSync(w.statusFile));
});

test.serial('a --lock-file in a directory that does not exist fails the start, not the first change after it said ready', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const lock = path.join(w.root, 'no-such-dir', 'run.lock');
  await t.throwsAsync(runWatch(w.args('watch', '--lock-file', lock), captureIo(), recordingLogger().logger), {
    message: new RegExp(`^cannot use lock file ${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: its directory .* does not exist; `),
  });
  t.false(fs.existsSync(path.join(w.scandir, 'gateway-a')), 'no pass ran');
});

test.serial(
  'a status directory removed while the watcher runs is not made again without its lock: one warning, not one a pass, says what to do',
  async (t) => {
    const w = await world(t, { a: { desired_state: 'running' } });
    const log = recordingLogger();
    // Repeats are quiet for an interval: passes come from SIGHUP here.
    const running = runWatch(w.args('watch', '--interval', '3600'), captureIo(), log.logger);
    // A failed assertion must not leave the watcher running.
    t.teardown(async () => {
      process.emit('SIGTERM');
      await running.catch(() => undefined);
    });
    await waitFor(() => fs.existsSync(w.statusFile), 60_000, 'the first status file');
    const dir = path.dirname(w.statusFile);
    fs.rmSync(dir, { recursive: true });
    const passes = (): number => log.records.filter((r) => r.level === 'debug' && r.message.startsWith('reconcile: pass ')).length;
    for (let i = 1; i <= 3; i++) {
      const before = passes();
      process.emit('SIGHUP');
      await waitFor(() => passes() > before, 60_000, `pass ${i} after the removal`);
    }
    process.emit('SIGTERM');
    t.is(await running, 0);
    const warnings = log.records.filter((r) => r.level === 'warn' && r.message.startsWith('cannot write status file'));
    t.is(warnings.length, 1, 'said once, not every pass and at the stop');
    t.is(
      warnings[0]?.message,
      `cannot write status file ${w.statusFile} (ENOENT: no such file or directory); its directory ${dir} is gone (removed while the watcher runs): ` +
        'restart the watcher, which makes it again and takes its lock there; each pass tries again, and until one succeeds status shows what the file last said',
    );
    t.false(fs.existsSync(dir), 'neither a pass nor the stop made it again, lock-less');
  },
);

test.serial(
  'a slot refused adoption is not backed off: the first full pass after it is put right adopts it, and its heartbeats start no pass',
  async (t) => {
    const w = await world(t, { zeta: { desired_state: 'running' } });
    // Another tool's service under the profile's slot name: not ours, and holding its data.
    const slot = path.join(w.scandir, 'gateway-zeta');
    fs.mkdirSync(slot, { recursive: true });
    fs.writeFileSync(path.join(slot, 'run'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
    fs.writeFileSync(path.join(slot, 'data'), 'theirs');
    const io = captureIo();
    const running = runWatch(w.args('watch', '--interval', '0.5'), io, recordingLogger().logger);
    // A failed assertion must not leave the watcher running, nor writing into a removed directory.
    t.teardown(async () => {
      process.emit('SIGTERM');
      await running.catch(() => undefined);
    });
    type Condition = { service: string; condition: string; reason?: string; nextAttemptAt?: string; consecutiveFailures: number };
    type Status = { passes: number; services: Condition[] };
    const status = (): Status | undefined => {
      try {
        return JSON.parse(fs.readFileSync(w.statusFile, 'utf8')) as Status;
      } catch {
        return undefined;
      }
    };
    const zeta = (): Condition | undefined => status()?.services.find((s) => s.service === 'gateway-zeta');
    await waitFor(() => (zeta()?.consecutiveFailures ?? 0) >= 3, 60_000, 'three refusals');
    t.like(zeta(), { condition: 'Failed' });
    t.regex(zeta()?.reason ?? '', /^not adopted: gateway-zeta holds data/);
    t.is(zeta()?.nextAttemptAt, undefined, 'no back-off: nothing was attempted');
    // Heartbeats of its gateway (same intent) start no pass: the refusal is the slot's.
    const before = status()?.passes ?? 0;
    const lines = (): number =>
      io
        .out()
        .split('\n')
        .filter((l) => l.includes('trigger=event')).length;
    const heartbeats = lines();
    for (let i = 0; i < 5; i++) {
      const state = path.join(w.home, 'profiles', 'zeta', 'gateway_state.json');
      fs.writeFileSync(`${state}.tmp`, JSON.stringify({ desired_state: 'running', updated_at: i }));
      fs.renameSync(`${state}.tmp`, state);
    }
    fs.renameSync(path.join(slot, 'data'), path.join(w.root, 'data'));
    await waitFor(() => fs.existsSync(path.join(slot, '.reconcile-gateways.json')), 60_000, 'the slot adopted');
    t.true((status()?.passes ?? 0) <= before + 3, 'within the next full passes, not after a back-off');
    t.is(lines(), heartbeats, 'no pass was started by a heartbeat');
    process.emit('SIGTERM');
    t.is(await running, 0);
  },
);
