/**
 * diffStates on existing slots: only the files that differ are rewritten, modes are fixed with
 * chmod, owners by rewriting, unowned slots adopted. Whole plans compared with deepEqual.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import type { FileRead, FileSpec, Operation, Plan, ServiceSpec } from '../../../src/model.js';
import { type DiffOptions, diffStates } from '../../../src/diff/index.js';
import { OWNERSHIP_FILE } from '../../../src/desired/render.js';
import { desiredOf, dirRead, fileRead, home, observedOf, scandirOf, slotOf, specOf, type SlotOptions } from '../../helpers/observed.js';

const OPTS: DiffOptions = { prune: false, restartChanged: false, expectedUid: 0 };

function planFor(spec: ServiceSpec, slot: SlotOptions, opts: DiffOptions = OPTS): Plan {
  return diffStates(observedOf(home(), scandirOf([slotOf(spec, slot)])), desiredOf([spec]), opts);
}

function fileSpec(spec: ServiceSpec, path: string): FileSpec {
  const f = spec.files.find((x) => x.path === path);
  if (f === undefined) throw new Error(`no ${path} in spec`);
  return f;
}

function update(spec: ServiceSpec, fields: Omit<Extract<Operation, { kind: 'update' }>, 'kind' | 'service' | 'profile'>): Plan {
  return {
    operations: [{ kind: 'update', service: spec.service, profile: spec.profile, ...fields }],
    restartPending: [],
  };
}

const CODER = specOf('coder', true);

const rewrites = test.macro({
  exec(t: ExecutionContext, path: string, read: FileRead | undefined, before: string | undefined) {
    const slot: SlotOptions = read === undefined ? { omit: [path] } : { files: { [path]: read } };
    // What --diff says besides a text diff: a missing file, or what stood in its place.
    const detail = read === undefined ? 'missing' : read.kind === 'refused' ? `${read.reason.slice(3)}, replaced by a file` : undefined;
    const change = {
      path,
      fix: 'write' as const,
      spec: fileSpec(CODER, path),
      ...(before === undefined ? {} : { before }),
      ...(detail === undefined ? {} : { detail }),
    };
    const reason = path === OWNERSHIP_FILE && read === undefined ? 'adopt unowned slot' : `${path} write`;
    const owned = path !== OWNERSHIP_FILE;
    t.deepEqual(planFor(CODER, { ...slot, owned }), update(CODER, { reason, dirs: [], changes: [change] }));
  },
  title: (title = '') => `update rewrites exactly the file that differs: ${title}`,
});

test('type with other content', rewrites, 'type', fileRead('oneshot\n'), 'oneshot\n');
test('run with other content', rewrites, 'run', fileRead('#!/bin/sh\nold\n', 0o755), '#!/bin/sh\nold\n');
test('finish missing', rewrites, 'finish', undefined, undefined);
test(
  'log/run with a trailing byte less',
  rewrites,
  'log/run',
  fileRead(fileSpec(CODER, 'log/run').content.slice(0, -1), 0o755),
  fileSpec(CODER, 'log/run').content.slice(0, -1),
);
test('run with non-UTF-8 content (no text diff)', rewrites, 'run', fileRead(new Uint8Array([0xff, 0x0a]), 0o755), undefined);
test('run refused (a FIFO in its place)', rewrites, 'run', { kind: 'refused', reason: 'is a FIFO', code: 'EFTYPE' }, undefined);

test('a file that differs only in mode is chmodded, not rewritten', (t) => {
  const plan = planFor(CODER, { files: { run: fileRead(fileSpec(CODER, 'run').content, 0o644) } });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'run chmod',
      dirs: [],
      changes: [{ path: 'run', fix: 'chmod', spec: fileSpec(CODER, 'run'), detail: 'mode 0644 → 0755' }],
    }),
  );
});

test('a file of the wrong mode with other hard links is rewritten, never chmodded: the chmod would change the other names too', (t) => {
  const linked = { ...fileRead(fileSpec(CODER, 'run').content, 0o600, 0, 5_000), links: 2 };
  const plan = planFor(CODER, { files: { run: linked } });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'run write',
      dirs: [],
      changes: [
        {
          path: 'run',
          fix: 'write',
          spec: fileSpec(CODER, 'run'),
          keepMtimeMs: 5_000,
          detail: 'mode 0600 → 0755: rewritten with the same bytes (it has 2 hard links, which a chmod would change too)',
        },
      ],
    }),
  );
});

test('setuid or group-write bits count as a mode difference', (t) => {
  const plan = planFor(CODER, {
    files: { type: fileRead('longrun\n', 0o664), 'log/run': fileRead(fileSpec(CODER, 'log/run').content, 0o4755) },
  });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'type chmod, log/run chmod',
      dirs: [],
      changes: [
        { path: 'type', fix: 'chmod', spec: fileSpec(CODER, 'type'), detail: 'mode 0664 → 0644' },
        { path: 'log/run', fix: 'chmod', spec: fileSpec(CODER, 'log/run'), detail: 'mode 4755 → 0755' },
      ],
    }),
  );
});

test('a file owned by someone else is rewritten (never chowned: it could be a hard link), keeping its mtime', (t) => {
  const plan = planFor(CODER, { files: { finish: fileRead(fileSpec(CODER, 'finish').content, 0o755, 10000, 1_234_000) } });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'finish write',
      dirs: [],
      changes: [
        {
          path: 'finish',
          fix: 'write',
          spec: fileSpec(CODER, 'finish'),
          keepMtimeMs: 1_234_000,
          detail: 'owner uid 10000 → 0: rewritten with the same bytes (a chown could follow a hard link)',
        },
      ],
    }),
  );
});

test('without an expected owner (not root) owners are not compared', (t) => {
  t.deepEqual(planFor(CODER, { uid: 10000 }, { ...OPTS, expectedUid: null }), { operations: [], restartPending: [] });
});

test('running as root, a slot written by the hermes user is rewritten file by file and its dirs chowned', (t) => {
  const plan = planFor(CODER, { uid: 10000 });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: '. chown, log chown, type write, run write, finish write, log/run write, .reconcile-gateways.json write',
      dirs: [
        { path: '', fix: 'chown', mode: 0o755, detail: 'owner uid 10000 → 0' },
        { path: 'log', fix: 'chown', mode: 0o755, detail: 'owner uid 10000 → 0' },
      ],
      changes: CODER.files.map((f) => ({
        path: f.path,
        fix: 'write' as const,
        spec: f,
        keepMtimeMs: 1_000_000,
        detail: 'owner uid 10000 → 0: rewritten with the same bytes (a chown could follow a hard link)',
      })),
    }),
  );
});

test('a slot directory with the wrong mode is chmodded', (t) => {
  const plan = planFor(CODER, { dir: dirRead(0o777), logDir: dirRead(0o700) });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: '. chmod, log chmod',
      dirs: [
        { path: '', fix: 'chmod', mode: 0o755, detail: 'mode 0777 → 0755' },
        { path: 'log', fix: 'chmod', mode: 0o755, detail: 'mode 0700 → 0755' },
      ],
      changes: [],
    }),
  );
});

test('a missing log/ is made and its run written', (t) => {
  const plan = planFor(CODER, { logDir: { kind: 'missing' }, omit: ['log/run'] });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'log mkdir, log/run write',
      dirs: [{ path: 'log', fix: 'mkdir', mode: 0o755, detail: 'missing' }],
      changes: [{ path: 'log/run', fix: 'write', spec: fileSpec(CODER, 'log/run'), detail: 'missing' }],
    }),
  );
});

test('a symlink or file where log/ goes is replaced by the directory (unlinked first, never followed), and --diff says what it was', (t) => {
  const plan = planFor(CODER, { logDir: { kind: 'refused', reason: 'is a symlink', code: 'EFTYPE' }, omit: ['log/run'] });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'log mkdir, log/run write',
      dirs: [{ path: 'log', fix: 'mkdir', mode: 0o755, replace: true, detail: 'a symlink, replaced by a directory' }],
      changes: [{ path: 'log/run', fix: 'write', spec: fileSpec(CODER, 'log/run'), detail: 'missing' }],
    }),
  );
});

test('--diff says what was refused where a file goes: a non-file is replaced, one too large or unreadable rewritten; log/ that could not be looked at is not unlinked', (t) => {
  const detailOf = (read: FileRead): string | undefined => {
    const op = planFor(CODER, { files: { finish: read } }).operations[0];
    return op?.kind === 'update' ? op.changes.find((c) => c.path === 'finish')?.detail : undefined;
  };
  t.is(detailOf({ kind: 'refused', reason: 'is a FIFO', code: 'EFTYPE' }), 'a FIFO, replaced by a file');
  t.is(detailOf({ kind: 'refused', reason: 'is a directory', code: 'EISDIR' }), 'a directory, which is never removed: move or delete it');
  t.is(detailOf({ kind: 'refused', reason: 'is a symlink', code: 'ELOOP' }), 'a symlink, replaced by a file');
  t.is(
    detailOf({ kind: 'refused', reason: 'is larger than 65536 bytes (100000)', code: 'EFBIG' }),
    'larger than 65536 bytes (100000), rewritten',
  );
  t.is(
    detailOf({ kind: 'refused', reason: 'EACCES: permission denied', code: 'EACCES' }),
    'unreadable (EACCES: permission denied), rewritten',
  );
  const op = planFor(CODER, { logDir: { kind: 'refused', reason: 'EACCES: permission denied' }, omit: ['log/run'] }).operations[0];
  const log = op?.kind === 'update' ? op.dirs.find((d) => d.path === 'log') : undefined;
  t.like(log, { fix: 'mkdir', detail: 'unreadable (EACCES: permission denied)' });
  t.false(log !== undefined && 'replace' in log, 'never unlinked');
});

test('an unowned slot is adopted: its record written, reason adopt unowned slot', (t) => {
  const plan = planFor(CODER, { owned: false, omit: [OWNERSHIP_FILE] });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'adopt unowned slot',
      adopt: true,
      dirs: [],
      changes: [{ path: OWNERSHIP_FILE, fix: 'write', spec: fileSpec(CODER, OWNERSHIP_FILE), detail: 'missing' }],
    }),
  );
});

test('an unowned slot holding what the Hermes CLI never writes is not adopted: one refused update, no up, down or restart', (t) => {
  // Autostart, but the slot has a down marker: an owned slot would also get an `up`.
  const plan = planFor(
    CODER,
    {
      owned: false,
      omit: [OWNERSHIP_FILE],
      files: { run: fileRead('#!/bin/sh\nexec nginx\n', 0o700) },
      down: true,
      foreignEntries: ['data', 'log/finish'],
    },
    { ...OPTS, restartChanged: true },
  );
  const refused =
    "not adopted: gateway-coder holds data, log/finish, which the Hermes CLI never writes (another tool's service?); nothing in it was changed: move those out of it, or rename that service or this profile";
  t.deepEqual(plan, update(CODER, { reason: refused, dirs: [], changes: [], refused: true }));
  const owned = planFor(CODER, { down: true, foreignEntries: ['data'] });
  t.deepEqual(
    owned.operations.map((o) => o.kind),
    ['up'],
    'a slot with our record is ours whatever else it holds',
  );
});

test('an upstream-written slot (identical scripts, no record) is adopted without touching its scripts', (t) => {
  const plan = planFor(CODER, { owned: false, omit: [OWNERSHIP_FILE], files: { run: fileRead(fileSpec(CODER, 'run').content, 0o755) } });
  t.deepEqual(
    plan.operations.map((o) => (o.kind === 'update' ? o.changes.map((c) => c.path) : [])),
    [[OWNERSHIP_FILE]],
  );
});

test('an unowned slot with a stale run is adopted and fixed in one update', (t) => {
  const plan = planFor(CODER, { owned: false, omit: [OWNERSHIP_FILE], files: { run: fileRead('old\n', 0o755) } });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'adopt unowned slot',
      adopt: true,
      dirs: [],
      changes: [
        { path: 'run', fix: 'write', spec: fileSpec(CODER, 'run'), before: 'old\n' },
        { path: OWNERSHIP_FILE, fix: 'write', spec: fileSpec(CODER, OWNERSHIP_FILE), detail: 'missing' },
      ],
    }),
  );
});

test('a record naming another service is rewritten (the slot is not ours yet)', (t) => {
  const other = '{"formatVersion":"1","managedBy":"reconcile-gateways","service":"gateway-x","profile":"x"}\n';
  const plan = planFor(CODER, { owned: false, files: { [OWNERSHIP_FILE]: fileRead(other) } });
  t.deepEqual(
    plan,
    update(CODER, {
      reason: 'adopt unowned slot',
      adopt: true,
      dirs: [],
      changes: [{ path: OWNERSHIP_FILE, fix: 'write', spec: fileSpec(CODER, OWNERSHIP_FILE), before: other }],
    }),
  );
});

test('adopting a slot hermes made and starting it in one pass: the up expects the owner the update sets, not the one observed', (t) => {
  const slot = { ...slotOf(CODER, { uid: 65534, down: true, owned: false }), identity: { dev: 1, ino: 2, uid: 65534 } };
  const plan = diffStates(observedOf(home(), scandirOf([slot])), desiredOf([CODER]), OPTS);
  const kinds = plan.operations.map((op) => op.kind);
  t.deepEqual(kinds, ['update', 'up']);
  const [adopt, up] = plan.operations;
  t.deepEqual(adopt?.kind === 'update' ? adopt.expect : undefined, { dev: 1, ino: 2, uid: 65534 }, 'the update acts on the slot observed');
  t.true(adopt?.kind === 'update' && adopt.dirs.some((d) => d.path === '' && d.fix === 'chown'));
  t.deepEqual(up?.kind === 'up' ? up.expect : undefined, { dev: 1, ino: 2, uid: 0 }, 'the up, on the slot as the update leaves it');
  // Not as root, nothing is chowned, and the up expects the slot as observed.
  const asUser = diffStates(observedOf(home(), scandirOf([slot])), desiredOf([CODER]), { ...OPTS, expectedUid: null });
  const upAsUser = asUser.operations.find((op) => op.kind === 'up');
  t.deepEqual(upAsUser?.kind === 'up' ? upAsUser.expect : undefined, { dev: 1, ino: 2, uid: 65534 });
});
