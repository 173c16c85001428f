import test from 'ava';
import { summaryLine } from '../../../src/cli/commands/watch.js';
import type { PassSummary } from '../../../src/watch/status-file.js';

const base: PassSummary = {
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

test('a watch pass line names the services it changed, the first five then how many more', (t) => {
  const changed = ['gateway-a', 'gateway-b', 'gateway-c', 'gateway-d', 'gateway-e', 'gateway-f', 'gateway-g'];
  t.is(
    summaryLine({ ...base, changed }),
    'reconcile: pass trigger=event scope=full result=converged create=7 update=0 restart=1 up=0 down=0 remove=0 purge=0 heal=0 failed=0 held=0 ' +
      'restart_pending=0 services=gateway-a,gateway-b,gateway-c,gateway-d,gateway-e,+2 more duration_ms=10',
  );
});

test('a watch pass line without changes names no services', (t) => {
  t.false(summaryLine(base).includes('services='));
});

test('a targeted pass line names its first five profiles, escaped and quoted, so a profile name cannot forge a line or a field', (t) => {
  const profiles = ['a', 'b\nreconcile: applied service=gateway-root kind=create', 'c d=e', 'f', 'g', 'h', 'i'];
  const line = summaryLine({ ...base, scope: 'targeted', profiles });
  t.false(line.includes('\n'), line);
  t.true(line.includes(' scope="targeted(a,b\\nreconcile: applied service=gateway-root kind=create,c d=e,f,g,+2 more)" result='), line);
  t.true(summaryLine({ ...base, scope: 'targeted', profiles: ['a', 'b'] }).includes(' scope=targeted(a,b) result='));
});

test('a watch pass line counts the slots it purged from the trash', (t) => {
  const counts = { create: 0, update: 0, restart: 0, up: 0, down: 0, remove: 0, purge: 40, heal: 0, failed: 0, held: 0, restartPending: 0 };
  t.regex(summaryLine({ ...base, counts }), / remove=0 purge=40 heal=0 /);
});
