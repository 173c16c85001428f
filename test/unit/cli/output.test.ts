import { execFileSync } from 'node:child_process';
import test from 'ava';
import type { ObservedSlot, Operation, OperationResult, ProfileDecision } from '../../../src/model.js';
import type { PassResult } from '../../../src/reconcile.js';
import type { DriftCondition } from '../../../src/desired/drift.js';
import {
  type DocumentContext,
  diffReport,
  filesOf,
  operationLine,
  planDocument,
  profileLine,
  summarize,
  textReport,
  useColour,
} from '../../../src/cli/output.js';
import { loadValidators } from '../../../src/cli/validate.js';
import { HOST, liveUp, scandirOf, slotOf, specOf } from '../../helpers/observed.js';
import { passResultOf } from '../../helpers/pass-result.js';

const SCANDIR = '/run/service';
const ESC = '\u001b';

function decision(profile: string, over: Partial<ProfileDecision> = {}): ProfileDecision {
  return { profile, service: `gateway-${profile}`, priorState: 'running', autostart: true, action: 'started', priorExit: 'clean', ...over };
}

const CREATE: Operation = { kind: 'create', service: 'gateway-a', profile: 'a', reason: 'new profile', spec: specOf('a', false) };
const UPDATE: Operation = {
  kind: 'update',
  service: 'gateway-b',
  profile: 'b',
  reason: 'run differs',
  dirs: [],
  changes: [{ path: 'run', fix: 'write', spec: { path: 'run', content: 'new line\n', mode: 0o755 }, before: 'old line\n' }],
};
const SWEEP: Operation = { kind: 'sweep', service: 'gateway-c', profile: 'c', reason: 'stale', dir: 'profiles/c', files: ['gateway.pid'] };

/** A pass result with these decisions and operations; `results` given for an applied pass. */
function resultOf(p: {
  decisions?: ProfileDecision[];
  operations?: Operation[];
  results?: OperationResult[];
  restartPending?: string[];
  mode?: 'boot' | 'sync';
  slots?: ObservedSlot[];
  pruneBlocked?: string;
  drift?: DriftCondition[];
  nowMs?: number;
}): PassResult {
  return passResultOf({
    options: { mode: p.mode ?? 'sync', host: p.nowMs === undefined ? HOST : { ...HOST, nowMs: p.nowMs } },
    observed: { scandir: scandirOf(p.slots ?? []) },
    desired: { decisions: p.decisions ?? [], ...(p.pruneBlocked === undefined ? {} : { pruneBlocked: p.pruneBlocked }) },
    plan: { operations: p.operations ?? [], restartPending: p.restartPending ?? [] },
    bootLogLines: 2,
    drift: p.drift ?? [],
    results: p.results ?? [],
  });
}

test('the profile line is upstream’s, and a hostile state cannot forge a field or a line', (t) => {
  t.is(profileLine(decision('coder')), 'reconcile: profile=coder prior_state=running action=started prior_exit=clean');
  t.is(
    profileLine(decision('x', { priorState: null, action: 'skipped', reason: 'invalid name' })),
    'reconcile: profile=x prior_state=None action=skipped prior_exit=clean reason="invalid name"',
  );
  const forged = profileLine(decision('a\nreconcile: profile=evil', { priorState: 'running action=started' }));
  t.false(forged.includes('\n'));
  t.is(forged, 'reconcile: profile="a\\nreconcile: profile=evil" prior_state="running action=started" action=started prior_exit=clean');
  // A name with a space or `=` (invalid, but still reported) is quoted: it cannot pose as fields.
  t.is(
    profileLine(decision('x prior_state=running', { priorState: null, action: 'skipped' })),
    'reconcile: profile="x prior_state=running" prior_state=None action=skipped prior_exit=clean',
  );
});

test('an operation line names the service, kind and reason, escaped', (t) => {
  const r: OperationResult = { op: { ...CREATE, service: 'gateway-\u001b[31mred' }, status: 'failed', error: 'EACCES\nforged' };
  const line = operationLine(r);
  t.false(line.includes(ESC));
  t.false(line.includes('\n'));
  t.is(line, 'reconcile: failed service=gateway-\\x1b[31mred kind=create reason="new profile" error="EACCES\\\\nforged"');
  const refused = operationLine({
    op: { ...CREATE, reason: 'not adopted: it holds data' },
    status: 'failed',
    error: 'not adopted: it holds data',
  });
  t.is(
    refused,
    'reconcile: failed service=gateway-a kind=create reason="not adopted: it holds data" error="refused"',
    'every failed line has an error field, and an error its reason says is not repeated',
  );
  t.is(operationLine({ op: CREATE, status: 'applied' }), 'reconcile: applied service=gateway-a kind=create reason="new profile"');
});

test('filesOf names what each operation touches', (t) => {
  t.deepEqual(filesOf(CREATE), [...CREATE.spec.files.map((f) => f.path), 'down'].sort());
  t.deepEqual(filesOf(UPDATE), ['run']);
  t.deepEqual(filesOf(SWEEP), ['profiles/c/gateway.pid']);
  t.deepEqual(filesOf({ kind: 'down', service: 's', profile: 'p', reason: 'r' }), ['down']);
  t.deepEqual(filesOf({ kind: 'cleanup', service: 's', profile: 'p', reason: 'r', entry: '.gateway-p.tmp' }), ['.gateway-p.tmp']);
  t.deepEqual(filesOf({ kind: 'remove', service: 's', profile: 'p', reason: 'r' }), []);
});

test('summarize counts every kind, failures and pending restarts', (t) => {
  const result = resultOf({
    operations: [CREATE, UPDATE, SWEEP],
    results: [
      { op: CREATE, status: 'applied' },
      { op: UPDATE, status: 'failed', error: 'x' },
      { op: SWEEP, status: 'applied' },
    ],
    restartPending: ['gateway-z'],
  });
  const s = summarize(result);
  t.like(s, { create: 1, update: 1, sweep: 1, remove: 0, heal: 0, failed: 1, restartPending: 1 });
});

test('the text report names each restart-pending service with a command that runs as printed, quoted when its path needs it', (t) => {
  const result = resultOf({ decisions: [decision('r')], restartPending: ['gateway-r'] });
  const lines = textReport(result, 0, SCANDIR).trimEnd().split('\n');
  t.is(
    lines[1],
    'reconcile: pending service=gateway-r kind=restart reason="run-time files changed while it runs; sync --restart-changed or s6-svc -r /run/service/gateway-r applies them"',
  );
  t.regex(lines.at(-1) ?? '', / restart_pending=1 exit=0$/);
  t.true(textReport(result, 0, '/srv/my scan').includes(`s6-svc -r '/srv/my scan/gateway-r' applies them`));
});

test('the text report ends with a summary whose counts and exit code match the pass', (t) => {
  const result = resultOf({
    decisions: [decision('a')],
    operations: [CREATE],
    results: [{ op: CREATE, status: 'applied' }],
  });
  const lines = textReport(result, 0, SCANDIR).trimEnd().split('\n');
  t.is(lines.length, 3);
  t.is(lines[0], profileLine(decision('a')));
  t.is(lines[1], 'reconcile: applied service=gateway-a kind=create reason="new profile"');
  t.is(
    lines[2],
    'reconcile: summary profiles=1 create=1 update=0 restart=0 up=0 down=0 remove=0 purge=0 sweep=0 cleanup=0 seed=0 failed=0 restart_pending=0 exit=0',
  );
});

test('prune_blocked=1 appears only when the empty-set guard held the prune back, in the summary and the plan line', async (t) => {
  const blocked = resultOf({ pruneBlocked: 'profiles is missing' });
  t.regex(textReport(blocked, 2, SCANDIR), / restart_pending=0 prune_blocked=1 exit=2\n$/);
  t.false(textReport(resultOf({}), 0, SCANDIR).includes('prune_blocked'));
  t.true((await diffReport(blocked, false, SCANDIR)).includes(' restart_pending=0 prune_blocked=1 (dry run: nothing changed)'));
});

test('drift the pass found follows the summary, as the watcher says it, and is in the JSON; none keeps upstream bytes', async (t) => {
  const drift: DriftCondition[] = [
    { type: 'IntentRunningButDown', service: 'gateway-b', profile: 'b', sinceUnix: 1_000, evidence: { exitcode: 0 } },
    { type: 'CrashLooping', service: 'gateway-a', profile: 'a', sinceUnix: 1_030, evidence: { restarts: 6, windowSeconds: 600 } },
    { type: 'IntentRunningButDown', service: 'gateway-a', profile: 'a', sinceUnix: 1_030, evidence: {} },
  ];
  const drifting = resultOf({ drift, nowMs: 1_090_000 });
  t.regex(
    textReport(drifting, 0, SCANDIR),
    / restart_pending=0 exit=0 running_but_down=2 crash_looping=1 stopped_but_up=0 logger_down=0 drifting=gateway-a,gateway-b\n$/,
  );
  t.regex(textReport(resultOf({}), 0, SCANDIR), / restart_pending=0 exit=0\n$/);
  t.true(
    (await diffReport(drifting, false, SCANDIR)).includes(
      ' restart_pending=0 running_but_down=2 crash_looping=1 stopped_but_up=0 logger_down=0 drifting=gateway-a,gateway-b (dry run: nothing changed)',
    ),
    'the --diff totals line says it too',
  );
  const { validatePlan } = await loadValidators();
  const ctx: DocumentContext = {
    mode: 'sync',
    dryRun: false,
    hermesHome: '/h',
    scandir: '/s',
    multiplex: false,
    exitCode: 0,
    warnings: [],
  };
  const doc = planDocument(drifting, ctx);
  t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
  t.like((doc['drift'] as unknown[])[0], {
    service: 'gateway-b',
    profile: 'b',
    type: 'IntentRunningButDown',
    forSeconds: 90,
    evidence: { exitcode: 0 },
  });
  t.deepEqual(planDocument(resultOf({}), ctx)['drift'], []);
});

test('heal=N appears only when the pass healed', (t) => {
  const heal: Operation = { kind: 'heal', service: 'gateway-h', profile: 'h', reason: 'held down' };
  t.true(textReport(resultOf({ operations: [heal], results: [{ op: heal, status: 'applied' }] }), 0, SCANDIR).includes(' heal=1 '));
  t.false(textReport(resultOf({}), 0, SCANDIR).includes('heal='));
});

test('colour only on a TTY, and never with NO_COLOR set', (t) => {
  t.true(useColour(true, {}));
  t.true(useColour(true, { NO_COLOR: '' }));
  t.false(useColour(true, { NO_COLOR: '1' }));
  t.false(useColour(false, {}));
});

test('the --diff preview shows each operation, unified diffs of updates and totals, without colour', async (t) => {
  const text = await diffReport(
    resultOf({ operations: [CREATE, UPDATE, SWEEP], restartPending: ['gateway-r'], mode: 'boot' }),
    false,
    SCANDIR,
  );
  t.false(text.includes(ESC));
  const lines = text.trimEnd().split('\n');
  t.is(lines[0], 'gateway-a create: new profile (registered down)');
  t.is(lines[1], 'gateway-b update: run differs');
  t.true(lines.includes('--- a/gateway-b/run'));
  t.true(lines.includes('+++ b/gateway-b/run'));
  t.true(lines.includes('-old line'));
  t.true(lines.includes('+new line'));
  t.true(lines.includes('gateway-c sweep: stale (profiles/c/gateway.pid)'));
  t.true(
    lines.includes(
      'gateway-r restart pending: run-time files changed while it runs (sync --restart-changed or s6-svc -r /run/service/gateway-r applies them)',
    ),
  );
  t.is(
    lines.at(-1),
    'reconcile: plan create=1 update=1 restart=0 up=0 down=0 remove=0 purge=0 sweep=1 cleanup=0 seed=0 restart_pending=1 boot_log_lines=2 (dry run: nothing changed)',
  );
});

test('with colour, kinds and diff lines are painted and names stay escaped', async (t) => {
  const hostile: Operation = { ...UPDATE, service: 'gateway-\u001b]0;title\u0007' };
  const text = await diffReport(resultOf({ operations: [hostile] }), true, SCANDIR);
  const lines = text.trimEnd().split('\n');
  t.is(lines[0], `gateway-\\x1b]0;title\\x07 ${ESC}[33mupdate${ESC}[39m: run differs`);
  t.true(lines.includes(`${ESC}[31m-old line${ESC}[39m`));
  t.true(lines.includes(`${ESC}[32m+new line${ESC}[39m`));
  // The only escape sequences are colours (ESC [ digits m).
  t.is(text.replace(/\u001b\[\d+m/g, '').includes(ESC), false);
  const refused: Operation = { ...UPDATE, reason: 'not adopted: …', changes: [], refused: true };
  const failing = await diffReport(resultOf({ operations: [refused] }), true, SCANDIR);
  t.true(failing.startsWith(`gateway-b ${ESC}[31mupdate${ESC}[39m: not adopted`), 'a refused adoption in red: the run fails it');
});

test('the JSON plan document satisfies plan.schema.json', async (t) => {
  const { validatePlan } = await loadValidators();
  const result = resultOf({
    decisions: [decision('a', { action: 'registered', autostart: false })],
    operations: [CREATE, UPDATE],
    results: [
      { op: CREATE, status: 'applied' },
      { op: UPDATE, status: 'failed', error: 'EIO' },
    ],
  });
  const ctx: DocumentContext = {
    mode: 'sync',
    dryRun: false,
    hermesHome: '/opt/data',
    scandir: '/run/service',
    multiplex: false,
    exitCode: 2,
    warnings: ['w'],
  };
  const doc = planDocument(result, ctx);
  t.true(validatePlan(doc), JSON.stringify(validatePlan.errors));
  t.like(doc, { formatVersion: '2', exitCode: 2, warnings: ['w'] });
  t.deepEqual(doc['operations'], [
    { kind: 'create', service: 'gateway-a', profile: 'a', reason: 'new profile', files: filesOf(CREATE), starts: false, status: 'applied' },
    { kind: 'update', service: 'gateway-b', profile: 'b', reason: 'run differs', files: ['run'], status: 'failed', error: 'EIO' },
  ]);
});

test('the --diff preview says which running gateway a down, remove or restart stops, by its pid', async (t) => {
  const op = (kind: 'down' | 'remove' | 'restart', p: string): Operation => ({ kind, service: `gateway-${p}`, profile: p, reason: 'why' });
  const up = (p: string): ObservedSlot => slotOf(specOf(p, true), { live: { ...liveUp(), pid: 4242 } });
  const text = await diffReport(
    resultOf({
      operations: [op('down', 'a'), op('remove', 'b'), op('restart', 'c'), op('down', 'd')],
      slots: [up('a'), up('b'), up('c'), slotOf(specOf('d', false))],
    }),
    false,
    SCANDIR,
  );
  const lines = text.split('\n');
  t.true(lines.includes('gateway-a down: why (stops its running gateway, pid 4242)'), text);
  t.true(lines.includes('gateway-b remove: why (stops its running gateway, pid 4242)'), text);
  t.true(lines.includes('gateway-c restart: why (restarts its running gateway, pid 4242)'), text);
  t.true(lines.includes('gateway-d down: why'), 'nothing running, nothing said');
});

test("the --diff preview lists what an update changes besides content: modes, owners, what stood in a file's place", async (t) => {
  const op: Operation = {
    kind: 'update',
    service: 'gateway-b',
    profile: 'b',
    reason: 'adopt unowned slot',
    dirs: [
      { path: '', fix: 'chmod', mode: 0o755, detail: 'mode 0700 → 0755' },
      { path: 'log', fix: 'mkdir', mode: 0o755, replace: true, detail: 'a symlink, replaced by a directory' },
    ],
    changes: [{ path: 'finish', fix: 'chmod', spec: { path: 'finish', content: 'x', mode: 0o755 }, detail: 'mode 0600 → 0755' }],
  };
  const lines = (await diffReport(resultOf({ operations: [op] }), false, SCANDIR)).split('\n');
  t.deepEqual(lines.slice(0, 4), [
    'gateway-b update: adopt unowned slot',
    '  .: mode 0700 → 0755',
    '  log: a symlink, replaced by a directory',
    '  finish: mode 0600 → 0755',
  ]);
});

test('a suggested s6-svc command runs as printed from the --diff line and, once its JSON-quoted reason is read, from the sync line, for a scandir path with spaces, quotes and a $', async (t) => {
  const scandir = `/srv/it's a "scan" $dir`;
  const slot = `${scandir}/gateway-r`;
  const shellReads = (word: string): string => execFileSync('sh', ['-c', `printf %s ${word}`], { encoding: 'utf8' });
  const result = resultOf({ decisions: [decision('r')], restartPending: ['gateway-r'] });
  const diffLine = (await diffReport(result, false, scandir)).split('\n').find((l) => l.startsWith('gateway-r restart pending')) ?? '';
  t.is(shellReads(/s6-svc -r (.*) applies them\)$/.exec(diffLine)?.[1] ?? ''), slot, diffLine);
  const syncLine =
    textReport(result, 0, scandir)
      .split('\n')
      .find((l) => l.startsWith('reconcile: pending ')) ?? '';
  const reason = JSON.parse(/ reason=(".*")$/.exec(syncLine)?.[1] ?? '""') as string;
  t.is(shellReads(/s6-svc -r (.*) applies them$/.exec(reason)?.[1] ?? ''), slot, syncLine);
});

test('an operation line keeps a quote in its reason or error inside the field', (t) => {
  const line = operationLine({ op: { ...CREATE, reason: 'a "b" c' }, status: 'failed', error: 'x" forged="1' });
  const m = /^reconcile: failed service=gateway-a kind=create reason=("(?:[^"\\]|\\.)*") error=("(?:[^"\\]|\\.)*")$/.exec(line);
  t.truthy(m, line);
  t.is(JSON.parse(m?.[1] ?? '""'), 'a "b" c');
  t.is(JSON.parse(m?.[2] ?? '""'), 'x" forged="1');
});
