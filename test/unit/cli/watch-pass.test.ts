/** One watch pass, in-process on a temp HERMES_HOME and scandir. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Operation } from '../../../src/model.js';
import { resolveRole } from '../../../src/cli/pass.js';
import { type WatchContext, errorReport, filterUnchangedIntents, rememberIntents, runWatchPass } from '../../../src/cli/watch-pass.js';
import { ConfigReadError } from '../../../src/cli/config.js';
import type { PassRequest } from '../../../src/watch/controller.js';
import { writeConfig } from '../../helpers/cli.js';
import { decisionOf, passResultOf } from '../../helpers/pass-result.js';
import { listenOnControl } from '../../helpers/fifo.js';
import { captureIo, recordingLogger, type World, world } from './support.js';

function context(w: World, ...extra: string[]): WatchContext & { records: ReturnType<typeof recordingLogger>['records'] } {
  const args = w.args('watch', ...extra);
  const { logger, records } = recordingLogger();
  return { args, facts: resolveRole(args), io: captureIo(), logger, intents: new Map(), failure: { message: undefined }, records };
}

const FULL: PassRequest = { trigger: 'start', profiles: undefined, hold: new Set() };
const live = (): AbortSignal => new AbortController().signal;

test('a full pass converges the scandir and remembers the intents it acted on', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' }, b: { desired_state: 'stopped' } });
  const ctx = context(w);
  const report = await runWatchPass(ctx, FULL, live());
  if (report.kind !== 'done') throw new Error(`pass ${report.kind}`);
  t.is(report.exitCode, 0);
  t.false(report.scoped);
  t.is(report.servicePrefix, 'gateway-');
  t.true(fs.existsSync(path.join(w.scandir, 'gateway-a', 'run')));
  t.deepEqual(Object.fromEntries(ctx.intents), { a: 'running', b: 'stopped', default: null });
  const again = await runWatchPass(ctx, FULL, live());
  t.is(again.kind === 'done' ? again.result.plan.operations.length : -1, 0);
  // Now the root's slot exists and, without a state file, its decision is pending: forgotten.
  t.deepEqual(Object.fromEntries(ctx.intents), { a: 'running', b: 'stopped' });
});

test('a pass over a scandir no s6-svscan reads warns that nothing supervises the slots; with one, no such warning', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const ctx = context(w);
  const alone = await runWatchPass(ctx, FULL, live());
  if (alone.kind !== 'done') throw new Error(`pass ${alone.kind}`);
  t.true(
    alone.warnings.includes(
      `s6-svscan is not running on ${w.scandir}: slots are written but nothing supervises them, and live state and drift are unknown`,
    ),
    alone.warnings.join('\n'),
  );
  // A reader on .s6-svscan/control is what observe takes for a live s6-svscan.
  const control = path.join(w.scandir, '.s6-svscan', 'control');
  fs.mkdirSync(path.dirname(control));
  spawnSync('mkfifo', [control]);
  const reader = fs.openSync(control, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  t.teardown(() => fs.closeSync(reader));
  const watched = await runWatchPass(ctx, FULL, live());
  if (watched.kind !== 'done') throw new Error(`pass ${watched.kind}`);
  t.false(
    watched.warnings.some((m) => m.startsWith('s6-svscan is not running')),
    watched.warnings.join('\n'),
  );
});

test('a slot s6-svscan never picks up is picked up once, not on every pass, and again once it was supervised and came back', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const ctx = { ...context(w), rescans: { sent: new Set<string>() } };
  await runWatchPass(ctx, FULL, live()); // no s6-svscan yet: the slots are written, nobody picks them up
  // An s6-svscan that never starts a supervisor (one refused at its -c limit behaves so).
  const svscan = listenOnControl(t, path.join(w.scandir, '.s6-svscan'));
  const first = await runWatchPass(ctx, FULL, live());
  if (first.kind !== 'done') throw new Error(`pass ${first.kind}`);
  t.deepEqual(
    first.result.results.map((r) => `${r.op.kind} ${r.op.service} ${r.status}`),
    ['pickup gateway-a applied', 'pickup gateway-default applied'],
  );
  t.is(svscan.received(), 'a');
  for (let i = 0; i < 3; i++) {
    const quiet = await runWatchPass(ctx, FULL, live());
    t.is(quiet.kind === 'done' ? quiet.result.plan.operations.length : -1, 0, 'already rescanned for: no pickup, no lock');
  }
  t.is(svscan.received(), '', 'one rescan, not one per pass');
  // A supervisor ran for gateway-a (a supervise/status appeared), then its slot came back bare.
  const status = path.join(w.scandir, 'gateway-a', 'supervise', 'status');
  fs.writeFileSync(status, Buffer.alloc(35));
  await runWatchPass(ctx, FULL, live());
  fs.rmSync(status);
  const back = await runWatchPass(ctx, FULL, live());
  t.deepEqual(back.kind === 'done' ? back.result.results.map((r) => `${r.op.kind} ${r.op.service}`) : [], ['pickup gateway-a']);
  t.is(svscan.received(), 'a');
});

test('a state-file event whose intent did not change costs no pass', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const ctx = context(w);
  await runWatchPass(ctx, FULL, live());
  const event: PassRequest = { trigger: 'event', profiles: new Set(['a']), intentOnly: new Set(['a']), hold: new Set() };
  // The gateway rewrote its runtime fields, not its intent.
  fs.writeFileSync(path.join(w.home, 'profiles', 'a', 'gateway_state.json'), JSON.stringify({ desired_state: 'running', pid: 7 }));
  t.deepEqual(await runWatchPass(ctx, event, live()), { kind: 'unchanged' });
  fs.writeFileSync(path.join(w.home, 'profiles', 'a', 'gateway_state.json'), JSON.stringify({ desired_state: 'stopped' }));
  const changed = await runWatchPass(ctx, event, live());
  if (changed.kind !== 'done') throw new Error(`pass ${changed.kind}`);
  t.true(changed.scoped);
  t.deepEqual(
    changed.result.results.map((r) => `${r.op.kind} ${r.op.service}`),
    ['down gateway-a'],
  );
});

test('filterUnchangedIntents keeps profiles named for other reasons, and those never seen', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' }, b: {} });
  const ctx = context(w);
  ctx.intents.set('a', 'running');
  const request: PassRequest = { trigger: 'event', profiles: new Set(['a', 'b', 'c']), intentOnly: new Set(['a', 'b']), hold: new Set() };
  t.deepEqual([...(filterUnchangedIntents(ctx, request) ?? [])].sort(), ['b', 'c']);
  t.is(filterUnchangedIntents(ctx, FULL), undefined, 'a full pass is never narrowed');
});

test('rememberIntents forgets pending, skipped and vanished profiles, only within the pass’s scope', (t) => {
  const intents = new Map<string, string | null>([
    ['gone', 'running'],
    ['outside', 'running'],
    ['pending', 'running'],
  ]);
  const ctx = { intents } as unknown as WatchContext;
  const result = passResultOf({
    desired: { decisions: [decisionOf('a'), decisionOf('pending', { action: 'pending', priorState: null, autostart: false })] },
  });
  rememberIntents(ctx, result, new Set(['a', 'gone', 'pending']));
  t.deepEqual(Object.fromEntries(intents), { outside: 'running', a: 'running' });
  rememberIntents(ctx, result, undefined);
  t.deepEqual(Object.fromEntries(intents), { a: 'running' });
});

test('rememberIntents keeps the intent of a profile pending for its slot (an update refused): heartbeats change nothing there', (t) => {
  const intents = new Map<string, string | null>();
  const ctx = { intents } as unknown as WatchContext;
  const refused: Operation = {
    kind: 'update',
    service: 'gateway-z',
    profile: 'z',
    reason: 'not adopted',
    dirs: [],
    changes: [],
    refused: true,
  };
  const pending = { action: 'pending', priorState: null, autostart: false } as const;
  const result = passResultOf({
    desired: { decisions: [decisionOf('z', pending), decisionOf('u', pending)] },
    plan: { operations: [refused], restartPending: [] },
  });
  rememberIntents(ctx, result, undefined);
  t.deepEqual(Object.fromEntries(intents), { z: null }, 'z kept (even a null intent), u (its intent unreadable) forgotten');
});

test('an invalid config is a terminal usage error: retried at the interval, not in a loop', async (t) => {
  const w = await world(t, { a: {} });
  const bad = writeConfig(w, { usr: 'x' }, true);
  const ctx = context(w, '--config', bad);
  const report = await runWatchPass(ctx, FULL, live());
  t.like(report, { kind: 'error', code: 'usage', terminal: true, exitCode: 100 });
  t.is(
    ctx.records
      .find((r) => r.level === 'error')
      ?.message.endsWith('(waiting for the interval or SIGHUP before retrying; logged once while it keeps failing)'),
    true,
  );
});

test('a config that cannot be read for a moment (config management replacing it) backs off, names the errno and says it retries', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const ctx = context(w);
  t.like(await runWatchPass(ctx, FULL, live()), { kind: 'done' });
  const kept = fs.readFileSync(w.configFile);
  fs.rmSync(w.configFile); // between the delete and the create of a replacement
  const report = await runWatchPass(ctx, FULL, live());
  t.like(report, { kind: 'error', code: 'usage', terminal: false, exitCode: 100 });
  const said =
    `cannot read config ${w.configFile}: ENOENT: no such file or directory (a read error, not the file's contents); ` +
    'if it persists, check the path given by --config or RECONCILE_GATEWAYS_CONFIG';
  t.is(report.kind === 'error' ? report.message : '', said);
  t.deepEqual(
    ctx.records.filter((r) => r.level === 'error').map((r) => r.message),
    [`pass failed: ${said} (retrying with back-off; logged once while it keeps failing)`],
  );
  fs.writeFileSync(w.configFile, kept);
  t.like(await runWatchPass(ctx, FULL, live()), { kind: 'done' });
});

const configReadFailure = test.macro({
  exec(t, errno: string, fix: string) {
    const report = errorReport(new ConfigReadError('/etc/rg.json', errno, `${errno}: what the kernel said`));
    t.like(report, { kind: 'error', code: 'usage', terminal: false, exitCode: 100 });
    t.is(
      report.message,
      `cannot read config /etc/rg.json: ${errno}: what the kernel said (a read error, not the file's contents); if it persists, ${fix}`,
    );
  },
  title: (_given, errno: string) => `a config read failing with ${errno} is retried with back-off, saying what to do if it persists`,
});
test(configReadFailure, 'EMFILE', 'raise the open-file limit of the watcher (ulimit -n)');
test(configReadFailure, 'ENFILE', 'the system has too many files open: find what holds them');
test(configReadFailure, 'EIO', 'check the disk or file system it is on');
test(configReadFailure, 'EACCES', 'make it readable by the user the watcher runs as');

test('a missing HERMES_HOME is a fatal error the watcher backs off from', async (t) => {
  const w = await world(t);
  const ctx = context(w, '--hermes-home', path.join(w.root, 'nope'));
  t.like(await runWatchPass(ctx, FULL, live()), { kind: 'error', code: 'fatal', terminal: false, exitCode: 111 });
  t.is(ctx.records.filter((r) => r.level === 'error').length, 1);
});

test('a failure that persists is logged once, a new one again, and the recovery says what it recovered from', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const nope = path.join(w.root, 'nope');
  const ctx = context(w, '--hermes-home', nope);
  const errors = (): string[] => ctx.records.filter((r) => r.level === 'error').map((r) => r.message);
  for (let i = 0; i < 3; i++) t.like(await runWatchPass(ctx, FULL, live()), { kind: 'error', code: 'fatal' });
  t.is(errors().length, 1, errors().join('\n'));
  t.regex(errors()[0] ?? '', /^pass failed: .*nope.* \(retrying with back-off; logged once while it keeps failing\)$/);
  const bad = path.join(w.root, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ usr: 'x' }));
  const other = { ...ctx, args: w.args('watch', '--config', bad) };
  t.like(await runWatchPass(other, FULL, live()), { kind: 'error', code: 'usage' });
  t.is(errors().length, 2, 'another error is logged');
  const healthy = { ...ctx, args: w.args('watch') };
  t.like(await runWatchPass(healthy, FULL, live()), { kind: 'done' });
  t.true(
    ctx.records.some((r) => r.level === 'info' && r.message.startsWith('passes complete again (they failed with: config ')),
    JSON.stringify(ctx.records),
  );
  t.like(await runWatchPass(ctx, FULL, live()), { kind: 'error', code: 'fatal' });
  t.is(errors().length, 3, 'after a recovery the same failure is news again');
});

test('a pass that fails while shutting down reports aborted, not an error', async (t) => {
  const w = await world(t);
  const ctx = context(w, '--hermes-home', path.join(w.root, 'nope'));
  const stop = new AbortController();
  stop.abort();
  t.deepEqual(await runWatchPass(ctx, FULL, stop.signal), { kind: 'aborted' });
  t.deepEqual(ctx.records, []);
});
