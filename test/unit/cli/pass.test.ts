import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Notice, Operation, UpdateOp } from '../../../src/model.js';
import type { PassResult } from '../../../src/reconcile.js';
import { closeDir } from '../../../src/safe-fs/index.js';
import { FatalError, UsageError } from '../../../src/errors.js';
import { docPath } from '../../../src/cli/help.js';
import {
  EXIT,
  checkOutputFiles,
  exitCodeOf,
  logPassResult,
  openScandir,
  passOptions,
  passWarnings,
  prepare,
  printSkip,
  resolveRole,
} from '../../../src/cli/pass.js';
import { decideRole } from '../../../src/desired/host.js';
import { type Args, parseCliArgs } from '../../../src/cli/args.js';
import { writeConfig } from '../../helpers/cli.js';
import { foreignEntry, scandirOf, specOf } from '../../helpers/observed.js';
import { passResultOf } from '../../helpers/pass-result.js';
import { captureIo, recordingLogger, world } from './support.js';

/** A pass result with just what exitCodeOf, passWarnings and logPassResult read. */
function resultOf(p: {
  ops?: number;
  pending?: number;
  failed?: boolean;
  blocked?: boolean;
  squatted?: boolean;
  notices?: Notice[];
  warnings?: string[];
}): PassResult {
  const op: Operation = { kind: 'create', service: 'gateway-a', profile: 'a', reason: 'slot missing', spec: specOf('a', true) };
  return passResultOf({
    observed: { scandir: scandirOf(p.squatted === true ? [foreignEntry('gateway-a', 'a', 'file')] : []) },
    plan: {
      operations: Array.from({ length: p.ops ?? 0 }, () => op),
      restartPending: Array.from({ length: p.pending ?? 0 }, () => 'gateway-a'),
    },
    results: p.failed === true ? [{ op, status: 'failed', error: 'EACCES' }] : [{ op, status: 'applied' }],
    desired: { notices: p.notices ?? [], ...(p.blocked === true ? { pruneBlocked: 'no profile found' } : {}) },
    warnings: p.warnings ?? [],
  });
}

test('exit codes: a dry run with changes is 1; a failure or a blocked prune is 2; else 0', (t) => {
  t.is(exitCodeOf(resultOf({}), true), 0);
  t.is(exitCodeOf(resultOf({ ops: 1 }), true), 1);
  t.is(exitCodeOf(resultOf({ pending: 1 }), true), 1);
  t.is(exitCodeOf(resultOf({ ops: 1 }), false), 0);
  t.is(exitCodeOf(resultOf({ failed: true }), false), 2);
  t.is(exitCodeOf(resultOf({ blocked: true }), false), 2);
  // A preview says what the real run would: blocked is 2, with or without other changes.
  t.is(exitCodeOf(resultOf({ blocked: true }), true), 2);
  t.is(exitCodeOf(resultOf({ blocked: true, ops: 1 }), true), 2);
  // A create over a slot path a file holds is sure to fail: the preview says 2, as the run will.
  t.is(exitCodeOf(resultOf({ ops: 1, squatted: true }), true), 2);
  // So is the update of a slot it may not adopt.
  const refused = resultOf({});
  const update: UpdateOp = { kind: 'update', service: 'gateway-a', profile: 'a', reason: 'not adopted', dirs: [], changes: [] };
  t.is(exitCodeOf({ ...refused, plan: { operations: [{ ...update, refused: true }], restartPending: [] } }, true), 2);
  t.is(exitCodeOf({ ...refused, plan: { operations: [update], restartPending: [] } }, true), 1);
});

test('warnings are the warn-level notices, then the pass warnings; info notices are not warnings', (t) => {
  const r = resultOf({
    notices: [
      { level: 'warn', message: 'profile Bad: invalid name', profile: 'Bad' },
      { level: 'info', message: 'folded' },
    ],
    warnings: ['scandir crowded'],
  });
  t.deepEqual(passWarnings(r), ['profile Bad: invalid name', 'scandir crowded']);
});

test('logPassResult logs warnings with their profile and each failure with its service', (t) => {
  const { logger, records } = recordingLogger();
  logPassResult(resultOf({ failed: true, notices: [{ level: 'warn', message: 'w', profile: 'Bad' }], warnings: ['x'] }), logger);
  t.deepEqual(records, [
    { level: 'warn', message: 'w', fields: { profile: 'Bad' } },
    { level: 'warn', message: 'x', fields: {} },
    { level: 'error', message: 'create failed: EACCES', fields: { service: 'gateway-a', kind: 'create' } },
  ]);
  const ok = recordingLogger();
  logPassResult(resultOf({}), ok.logger);
  t.deepEqual(ok.records, [{ level: 'debug', message: 'create applied: slot missing', fields: { service: 'gateway-a', kind: 'create' } }]);
});

test('a skipped role prints its line, or its JSON document, and exits 0', async (t) => {
  const w = await world(t);
  const decision = decideRole('none', []);
  if (decision.kind !== 'skip') throw new Error('not skipped');
  const text = captureIo();
  t.is(printSkip(w.args('sync'), text, 'sync', decision), EXIT.ok);
  t.is(text.out(), `${decision.message}\n`);
  const json = captureIo();
  printSkip(w.args('boot', '--output', 'json'), json, 'boot', decision);
  t.deepEqual(JSON.parse(json.out()), { formatVersion: '2', mode: 'boot', skipped: { role: 'none', message: decision.message } });
});

test('the role comes from --role first, then the container argv', async (t) => {
  const w = await world(t);
  t.deepEqual(resolveRole(w.args('sync', '--role', 'none')).argv, []);
  t.is(resolveRole(w.args('sync', '--role', 'none')).decision.kind, 'skip');
  t.is(resolveRole(w.args('sync', '--container-argv', '["/init","hermes","dashboard"]')).decision.kind, 'skip');
  t.is(resolveRole(w.args('sync')).decision.kind, 'gateway');
});

test('a missing HERMES_HOME is fatal and says where to point', async (t) => {
  const w = await world(t);
  const missing = path.join(w.root, 'nope');
  const err = await t.throwsAsync(prepare(w.args('sync', '--hermes-home', missing)), { instanceOf: FatalError });
  t.true(err?.message.startsWith(`HERMES_HOME ${missing} is missing or unreadable (`));
  t.true(err?.message.endsWith('point --hermes-home or HERMES_HOME at the Hermes data volume'));
});

test('the built-in HERMES_HOME is named as the default when neither the flag nor the variable gave one', async (t) => {
  const w = await world(t);
  const parsed = (env: NodeJS.ProcessEnv): Args => {
    const p = parseCliArgs(['sync', '--scandir', w.scandir, '--config', w.configFile, '--container-argv', '[]'], env);
    if (p.kind !== 'run') throw new Error('not a run');
    return p.args;
  };
  const unset = await t.throwsAsync(prepare(parsed({})), { instanceOf: FatalError });
  t.true(
    unset?.message.startsWith('HERMES_HOME /opt/data (the default: neither --hermes-home nor HERMES_HOME is set) is missing'),
    unset?.message,
  );
  const empty = await t.throwsAsync(prepare(parsed({ HERMES_HOME: '' })), { instanceOf: FatalError });
  t.true(
    empty?.message.startsWith('HERMES_HOME /opt/data (the default: HERMES_HOME is set but empty, and --hermes-home not given) is missing'),
    empty?.message,
  );
  const missing = path.join(w.root, 'nope');
  const set = await t.throwsAsync(prepare(parsed({ HERMES_HOME: missing })), { instanceOf: FatalError });
  t.true(set?.message.startsWith(`HERMES_HOME ${missing} is missing or unreadable (`), set?.message);
});

test('a HERMES_HOME that is a file is fatal', async (t) => {
  const w = await world(t);
  const file = path.join(w.root, 'file');
  fs.writeFileSync(file, '');
  await t.throwsAsync(prepare(w.args('sync', '--hermes-home', file)), {
    instanceOf: FatalError,
    message: `HERMES_HOME ${file} is not a directory; point --hermes-home or HERMES_HOME at the Hermes data volume`,
  });
});

test('an invalid config is a usage error naming the file and the key', async (t) => {
  const w = await world(t);
  const bad = writeConfig(w, { usr: 'hermes' }, true);
  const err = await t.throwsAsync(prepare(w.args('sync', '--config', bad)), { instanceOf: UsageError });
  t.is(
    err?.message,
    `config ${bad} is invalid: unknown key "usr" (did you mean "user"?); fix the file (${docPath('cli.md')} lists every setting)`,
  );
});

test('prepare opens HERMES_HOME with the merged settings', async (t) => {
  const w = await world(t);
  const prep = await prepare(w.args('sync'));
  t.teardown(() => closeDir(prep.home));
  t.is(prep.settings.shebang, '#!/bin/sh');
  t.is(prep.settings.servicePrefix, 'gateway-');
});

test('openScandir creates a missing scandir and its parents 0755 for boot, refuses for sync and watch, reads it as empty for a look', async (t) => {
  const w = await world(t);
  const scandir = path.join(w.root, 'fresh', 'service');
  t.is(openScandir(scandir, 'empty'), undefined);
  t.throws(() => openScandir(scandir, 'refuse'), {
    instanceOf: FatalError,
    message: `scandir ${scandir} does not exist; boot creates it, sync and watch do not: point --scandir or S6_PROFILE_GATEWAY_SCANDIR at the s6 scan directory, or run boot first`,
  });
  t.false(fs.existsSync(scandir));
  const dir = openScandir(scandir, 'create');
  t.teardown(() => closeDir(dir));
  t.not(dir, undefined);
  t.is(fs.statSync(scandir).mode & 0o777, 0o755);
  t.is(fs.statSync(path.dirname(scandir)).mode & 0o777, 0o755);
});

test('a scandir that is a file is fatal', async (t) => {
  const w = await world(t);
  const file = path.join(w.root, 'scanfile');
  fs.writeFileSync(file, '');
  t.throws(() => openScandir(file, 'create'), {
    instanceOf: FatalError,
    message: `scandir ${file} exists but is not a directory; point --scandir or S6_PROFILE_GATEWAY_SCANDIR at the s6 scan directory`,
  });
});

test('pass options follow the flags: boot never prunes, watch narrows to the profiles asked for', async (t) => {
  const w = await world(t, { a: { desired_state: 'running' } });
  const prep = await prepare(w.args('sync'));
  t.teardown(() => closeDir(prep.home));
  const boot = passOptions({ args: w.args('boot'), prep, scandir: undefined, env: {} });
  t.like(boot, { mode: 'boot', prune: false, scope: undefined, removalWaitMs: undefined });
  const sync = passOptions({
    args: w.args('sync', '--restart-changed', '--heal', '--drift-grace', '5'),
    prep,
    scandir: undefined,
    env: {},
  });
  t.like(sync, { mode: 'sync', prune: true, restartChanged: true, heal: true, drift: { graceSeconds: 5 } });
  const watch = passOptions({
    args: w.args('watch'),
    prep,
    scandir: undefined,
    env: {},
    narrow: { profiles: new Set(['a']), hold: new Set(['gateway-b']) },
  });
  t.true(watch.scope !== undefined);
  t.deepEqual([...(watch.hold ?? [])], ['gateway-b']);
  t.is(typeof watch.removalWaitMs, 'number');
  const multiplexed = passOptions({
    args: w.args('watch'),
    prep,
    scandir: undefined,
    env: { GATEWAY_MULTIPLEX_PROFILES: '1' },
    narrow: { profiles: new Set(['a']) },
  });
  t.is(multiplexed.scope, undefined, 'multiplexing ties every profile to the root slot: a full pass');
});

test('a metrics file that is the status file or a lock too is refused: it would overwrite it', async (t) => {
  t.throws(() => checkOutputFiles({ '--status-file': '/run/rg/status.json', '--metrics-file': '/run/rg/../rg/status.json' }), {
    instanceOf: FatalError,
    message:
      '--metrics-file /run/rg/../rg/status.json is the status file too (/run/rg/status.json): one would overwrite the other; give it another path',
  });
  const w = await world(t);
  // The same directory reached through a symlink is the same file.
  fs.symlinkSync(w.root, path.join(w.root, 'alias'));
  const lock = path.join(w.root, 'status.json.lock');
  t.throws(
    () => checkOutputFiles({ '--metrics-file': path.join(w.root, 'alias', 'status.json.lock') }, { taken: [["the watcher's lock", lock]] }),
    {
      instanceOf: FatalError,
      message: new RegExp(`is the watcher's lock too \\(${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`),
    },
  );
  t.notThrows(() => checkOutputFiles({ '--metrics-file': path.join(w.root, 'rg.prom') }, { taken: [["the watcher's lock", lock]] }));
});
