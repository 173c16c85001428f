import test from 'ava';
import type { WatcherStop } from '../../../src/watch/status-file.js';
import type { StatusRow } from '../../../src/cli/status-report.js';
import { DEFAULT_WIDTH, LEGEND, type TableContext, duration, renderStatusTable, wrap } from '../../../src/cli/status-table.js';

const NOW_MS = Date.parse('2026-12-06T03:00:00Z');

function row(profile: string, over: Partial<StatusRow> = {}): StatusRow {
  return {
    profile,
    service: `gateway-${profile}`,
    intent: { stateFile: 'parsed', desiredState: 'running', gatewayState: null, action: 'started', autostart: true },
    slot: { present: true, kind: 'dir', owned: true, marker: 'up' },
    live: {
      supervised: true,
      up: true,
      pid: 812,
      forSeconds: 312,
      since: '',
      wantedUp: true,
      ready: false,
      finishing: false,
      lastExit: null,
      permanentFailure: false,
    },
    restartPending: false,
    drift: [],
    driftConditions: [],
    watcher: null,
    ...over,
  };
}

const CTX: TableContext = {
  svscanLive: true,
  scandir: '/run/service',
  serviceCount: 4,
  warnings: [],
  watcher: { state: 'absent', statusFile: '/run/reconcile-gateways/status.json' },
  nowMs: NOW_MS,
};

/** The table's lines: header first, up to the blank line before the legend. */
function tableOf(text: string): string[] {
  const lines = text.split('\n');
  return lines.slice(0, lines.indexOf(''));
}

/** Where each header word starts in the header line. */
function columnStarts(header: string): number[] {
  return ['PROFILE', 'INTENT', 'SLOT', 'LIVE', 'FOR', 'NOTE'].map((h) => header.indexOf(h));
}

test('a table of any number of rows renders (no argument-count limit): a volume user can make 125,000 slot-named directories', (t) => {
  const rows = Array.from({ length: 200_000 }, (_, i) => row(`p${i}`));
  const text = renderStatusTable(rows, CTX);
  t.true(text.includes('p199999'));
});

test('columns line up under the header, whatever the names', (t) => {
  const rows = [row('a'), row('a-much-longer-profile'), row('mid', { live: null })];
  const table = tableOf(renderStatusTable(rows, CTX));
  t.is(table.length, 4);
  const starts = columnStarts(table[0] ?? '');
  for (const line of table.slice(1)) {
    for (const s of starts.slice(1, -1)) {
      t.is(line.slice(s - 2, s), '  ', `gap before column ${s} in ${JSON.stringify(line)}`);
      t.not(line[s], ' ', `cell starts at column ${s} in ${JSON.stringify(line)}`);
    }
  }
  t.is(table[1], `a${' '.repeat('a-much-longer-profile'.length - 1)}  running  ours,up  up 812  5m12s`);
});

test('a name with a newline or escape sequence is escaped and cannot break a row', (t) => {
  const text = renderStatusTable([row('evil\nreconcile: forged\u001b[2J'), row('ok')], CTX);
  t.false(text.includes('\u001b'));
  const table = tableOf(text);
  t.is(table.length, 3);
  t.true(table[1]?.startsWith('evil\\nreconcile: forged\\x1b[2J  running'));
  t.is(table[2]?.indexOf('running'), table[1]?.indexOf('running'), 'the escaped name widens the column for every row');
});

test('no line is wider than the width; a very long name is cut with an ellipsis, a long note goes on under NOTE', (t) => {
  const long = 'p'.repeat(150);
  const note = `update: run write; ${'x'.repeat(300)} end`;
  for (const width of [80, DEFAULT_WIDTH, 140]) {
    const text = renderStatusTable([row(long, { drift: [note] }), row('short')], {
      ...CTX,
      width,
      warnings: ['w '.repeat(100)],
    });
    for (const line of text.trimEnd().split('\n')) t.true(line.length <= width, `${line.length} > ${width}: ${line}`);
    const table = tableOf(text);
    t.regex(table[1] ?? '', /^p+\u2026 {2}running/, 'the name is cut');
    t.is(table.at(-1), '(a name cut with \u2026 is whole in --output json)', 'and the table says where it is whole');
    const start = table[0]?.indexOf('NOTE') ?? -1;
    // The note's lines follow its row, each starting at the NOTE column, and say all of it.
    const noteLines = [table[1]?.slice(start) ?? ''];
    for (const line of table.slice(2)) {
      if (!line.startsWith(' ')) break;
      t.is(line.slice(0, start).trim(), '', `continuation under NOTE: ${JSON.stringify(line)}`);
      noteLines.push(line.slice(start));
    }
    t.true(noteLines.length > 1);
    t.is(noteLines.join('').replaceAll(' ', ''), note.replaceAll(' ', ''));
    t.true(table.at(-2)?.startsWith('short'), 'the next row comes after the whole note');
  }
});

test('a note that fits stays on its row; one that does not wraps between words', (t) => {
  const text = renderStatusTable([row('coder', { drift: ['pending: state file missing; slot kept up or down as it is'] })], {
    ...CTX,
    width: 80,
  });
  const table = tableOf(text);
  const start = table[0]?.indexOf('NOTE') ?? -1;
  const lines = table.slice(1).map((l) => l.slice(start));
  t.true(lines.length > 1, text);
  t.is(lines.join(' '), 'pending: state file missing; slot kept up or down as it is');
  for (const line of lines) t.false(line.startsWith(' ') || line.endsWith(' '), 'broken between words, not inside one');
});

test('the widest values the columns take, even at 60 columns, end: a note with no room beside its row goes under it', (t) => {
  const wide = row('coder', {
    intent: { stateFile: 'parsed', desiredState: null, gatewayState: 'd'.repeat(120), action: 'started', autostart: true },
    slot: { present: true, kind: 'dir', owned: false, marker: 'down' },
    live: {
      ...(row('x').live as NonNullable<StatusRow['live']>),
      up: false,
      wantedUp: true,
      pid: null,
      lastExit: { code: 255 },
      forSeconds: 999_999,
    },
    drift: ['update: run write; a note of several words that needs more than one line'],
  });
  for (const width of [60, 70, 80, 100]) {
    const text = renderStatusTable([wide, row('b')], { ...CTX, width });
    const table = tableOf(text);
    t.false(table[0]?.includes('NOT') === true && !table[0].includes('NOTE'), 'the header is never wrapped');
    t.regex(table[1] ?? '', /^coder +d{13}\u2026 /, 'INTENT from the volume is cut');
    // Every line fits, but at 60 columns the rows themselves: the widest values are never cut further.
    for (const line of text.trimEnd().split('\n')) {
      if (width > 60 || !/^(coder|PROFILE|b) /.test(line)) t.true(line.length <= width, `${line.length} > ${width}: ${line}`);
    }
    const note = 'update: run write; a note of several words that needs more than one line';
    const start = table[0]?.indexOf('NOTE') ?? -1;
    const under = table.slice(2).filter((l) => l.startsWith(' '));
    if (start < 0) {
      // No room for a NOTE column: the note goes under its row, indented, in full.
      t.true(width <= 80, text);
      t.true(under.every((l) => l.startsWith('    ')));
      t.is(under.map((l) => l.trim()).join(' '), note, text);
    } else {
      t.is([table[1]?.slice(start) ?? '', ...under.map((l) => l.slice(start))].join(' '), note, text);
    }
  }
});

test('a name of emoji is cut and padded by characters, never inside one', (t) => {
  const name = '\u{1f600}'.repeat(40);
  const text = renderStatusTable([row(name, { drift: ['\u{1f525}'.repeat(120)] }), row('b')], { ...CTX, width: 80 });
  t.false(/[\ud800-\udfff]/u.test(text), 'no half of a surrogate pair');
  const table = tableOf(text);
  // Columns are counted in characters: INTENT starts at the same column on both rows.
  const column = (line: string): number => Array.from(line.slice(0, line.indexOf('running'))).length;
  t.regex(table[1] ?? '', /^(\u{1f600})+\u2026 +running/u, 'the name is cut');
  const emojiRow = table.find((l) => l.startsWith('\u{1f600}')) ?? '';
  const plainRow = table.find((l) => l.startsWith('b ')) ?? '';
  t.is(column(emojiRow), column(plainRow));
});

test('the rows never go below 60 columns; the lines after the table fit a narrower terminal', (t) => {
  const text = renderStatusTable([row('a')], { ...CTX, width: 10 });
  t.true(text.split('\n').some((l) => l.length > 10));
  for (const line of text.trimEnd().split('\n')) t.true(line.length <= 60);
  const narrow = renderStatusTable([row('a')], { ...CTX, width: 40 })
    .trimEnd()
    .split('\n');
  const after = narrow.slice(narrow.indexOf('') + 1);
  t.true(after.length > 3, 'the legend, scandir and watcher lines');
  for (const line of after) t.true([...line].length <= 40, line);
});

test('the LIVE column says what s6 is doing', (t) => {
  const live = (over: Partial<NonNullable<StatusRow['live']>>, slot?: Partial<StatusRow['slot']>) => {
    const r = row('x', { live: { ...(row('x').live as NonNullable<StatusRow['live']>), ...over }, slot: { ...row('x').slot, ...slot } });
    const cells = tableOf(renderStatusTable([r], CTX))[1]?.split(/ {2,}/) ?? [];
    return cells[3];
  };
  t.is(live({}), 'up 812');
  t.is(live({ wantedUp: false }), 'stopping 812');
  t.is(live({ up: false, pid: null, lastExit: { code: 78 }, wantedUp: false, permanentFailure: true }), 'failed exit 78');
  t.is(live({ up: false, pid: null, lastExit: { signal: 15 }, wantedUp: false }), 'stopped sig 15');
  t.is(live({ up: false, pid: null, lastExit: null, wantedUp: false }, { marker: 'down' }), 'down');
  t.is(live({ up: false, pid: null, lastExit: null, wantedUp: true }), 'starting');
  t.is(live({ finishing: true, up: false, pid: null }), 'finishing');
  t.is(live({ supervised: false, pid: null }), 'unsupervised');
});

test("the watcher's reason is not said twice when it is the row's own", (t) => {
  const reason = 'state file unreadable: invalid JSON at line 1 column 3; slot kept up or down as it is';
  const r = row('x', {
    intent: { stateFile: 'unreadable', desiredState: null, gatewayState: null, action: 'pending', autostart: null, reason },
    watcher: { condition: 'Pending', consecutiveFailures: 0, reason },
  });
  const line = tableOf(renderStatusTable([r], { ...CTX, width: 400 }))[1] ?? '';
  t.true(line.endsWith(`pending: ${reason}; watcher: Pending`), line);
});

test("a stopped watcher's conditions are said as its last word, not as news", (t) => {
  const r = row('x', { watcher: { condition: 'Failed', consecutiveFailures: 2, reason: 'EIO' } });
  const watcher = (running: boolean): TableContext['watcher'] => ({
    state: 'present',
    statusFile: '/s',
    pid: 42,
    running,
    lastPass: null,
    nextFullPassAt: null,
  });
  const line = (running: boolean): string => tableOf(renderStatusTable([r], { ...CTX, watcher: watcher(running), width: 400 }))[1] ?? '';
  t.regex(line(true), / watcher: Failed \(EIO\)$/);
  t.true(line(false).endsWith('watcher, when it stopped: Failed (EIO)'), line(false));
});

test('NOTE leads with drift conditions, then reasons, restarts and the watcher', (t) => {
  const r = row('x', {
    driftConditions: [{ type: 'IntentRunningButDown', since: '', forSeconds: 45, evidence: { exitcode: 0 } }],
    drift: ['IntentRunningButDown for 45 s (exit 0)', 'update: run differs'],
    restartPending: true,
    watcher: { condition: 'Failed', consecutiveFailures: 2, reason: 'EIO' },
  });
  const line = tableOf(renderStatusTable([r], { ...CTX, width: 400 }))[1] ?? '';
  t.true(
    line.endsWith(
      'IntentRunningButDown 45s (exit 0); update: run differs; restart pending: run-time files changed while it runs (sync --restart-changed or s6-svc -r /run/service/gateway-x applies them); watcher: Failed (EIO)',
    ),
    line,
  );
});

test('after the table: the legend, the scandir, warnings and the watcher', (t) => {
  const text = renderStatusTable([row('a')], {
    ...CTX,
    width: 2000,
    warnings: ['bad\nline'],
    watcher: {
      state: 'present',
      statusFile: '/s.json',
      pid: 77,
      running: true,
      lastPass: { finishedAt: '2026-12-06T02:59:00.000Z', scope: 'full', trigger: 'interval', result: 'converged', durationMs: 12 },
      nextFullPassAt: '2026-12-06T03:00:30.000Z',
    },
  });
  const after = text.split('\n').slice(3);
  t.deepEqual(after, [
    LEGEND,
    'scandir /run/service: 4 services (a logger counts with its service); s6-svscan is running',
    'warning: bad\\nline',
    'watcher: pid 77 running',
    'last pass 2026-12-06T02:59:00.000Z (1m0s ago): full (interval) converged in 12 ms; next full pass 2026-12-06T03:00:30.000Z',
    '',
  ]);
});

test('legend: false leaves out the legend and keeps the rest', (t) => {
  const text = renderStatusTable([row('a')], { ...CTX, width: 1000, legend: false });
  t.false(text.includes(LEGEND));
  t.deepEqual(text.split('\n').slice(3, 5), [
    'scandir /run/service: 4 services (a logger counts with its service); s6-svscan is running',
    'watcher: no status file at /run/reconcile-gateways/status.json (is watch running? see --status-file)',
  ]);
  const one = renderStatusTable([row('a')], { ...CTX, width: 1000, legend: false, serviceCount: 1 });
  t.is(one.split('\n')[3], 'scandir /run/service: 1 service (a logger counts with its service); s6-svscan is running');
});

test('a watcher that is absent, unreadable, over other trees or dead says so and what to do', (t) => {
  const last = (watcher: TableContext['watcher']): string =>
    renderStatusTable([], { ...CTX, watcher, width: 1000 })
      .trimEnd()
      .split('\n')
      .at(-1) ?? '';
  t.is(last(CTX.watcher), 'watcher: no status file at /run/reconcile-gateways/status.json (is watch running? see --status-file)');
  t.is(last({ state: 'unreadable', statusFile: '/s', reason: 'invalid JSON' }), 'watcher: status file /s unreadable: invalid JSON');
  const unreadable = (lockHeld: boolean): string[] =>
    renderStatusTable([], { ...CTX, watcher: { state: 'unreadable', statusFile: '/s', reason: 'EISDIR', lockHeld }, width: 1000 })
      .trimEnd()
      .split('\n')
      .slice(-2);
  t.deepEqual(unreadable(true), ['watcher: status file /s unreadable: EISDIR', 'watcher: one runs (it holds /s.lock); see its log']);
  t.deepEqual(unreadable(false), ['watcher: status file /s unreadable: EISDIR', 'watcher: none runs (nobody holds /s.lock)']);
  t.is(
    last({ state: 'elsewhere', statusFile: '/s', hermesHome: '/opt/data', scandir: '/run/other' }),
    'watcher: status file /s is of a watcher over /opt/data and /run/other, not these (see --status-file)',
  );
  t.is(
    last({ state: 'present', statusFile: '/s', pid: 9, running: false, lastPass: null, nextFullPassAt: '' }),
    'watcher: pid 9 not running, and no clean stop recorded (killed or crashed?): see its log',
  );
  const stopped = { at: '2026-01-01T00:00:00.000Z', by: 'SIGTERM' } as const;
  t.is(
    last({ state: 'present', statusFile: '/s', pid: 9, running: false, lastPass: null, nextFullPassAt: '', stopped }),
    `watcher: pid 9 stopped by SIGTERM at 2026-01-01T00:00:00.000Z (${duration(Math.floor((CTX.nowMs - Date.parse(stopped.at)) / 1000))} ago)`,
  );
  // The schema admits only SIGTERM and SIGINT; the table escapes even so.
  const forged = { at: '2026-01-01T00:00:00.000Z', by: 'SIGTERM\nwatcher: pid 1 running' } as unknown as WatcherStop;
  t.true(
    last({ state: 'present', statusFile: '/s', pid: 9, running: false, lastPass: null, nextFullPassAt: '', stopped: forged }).startsWith(
      'watcher: pid 9 stopped by SIGTERM\\nwatcher: pid 1 running at ',
    ),
    'a newline in the status file is escaped, never a line of its own',
  );
  t.is(
    last({ state: 'present', statusFile: '/s', pid: 9, running: true, lastPass: null, nextFullPassAt: '' }),
    'watcher: pid 9 running; no pass completed yet',
  );
});

/** The whole report for no rows and this watcher, at a width that wraps nothing. */
function withWatcher(watcher: TableContext['watcher']): string {
  return renderStatusTable([], { ...CTX, width: 1000, watcher });
}

test("a watcher's failed pass says why, and what the watcher does next", (t) => {
  const failed = (terminal: boolean): string[] =>
    withWatcher({
      state: 'present',
      statusFile: '/s',
      pid: 9,
      running: true,
      nextFullPassAt: '2026-12-06T03:01:00.000Z',
      lastPass: {
        finishedAt: '2026-12-06T03:00:00.000Z',
        scope: 'full',
        trigger: 'retry',
        result: 'error',
        durationMs: 3,
        error: { code: terminal ? 'usage' : 'fatal', message: 'config /c is not valid JSON\nforged', terminal },
      },
    })
      .trimEnd()
      .split('\n')
      .slice(-2);
  t.deepEqual(failed(true), [
    'last pass 2026-12-06T03:00:00.000Z (0s ago): full (retry) error in 3 ms; next full pass 2026-12-06T03:01:00.000Z',
    'last pass failed: config /c is not valid JSON\\nforged (it waits for the interval or SIGHUP)',
  ]);
  t.is(failed(false)[1], 'last pass failed: config /c is not valid JSON\\nforged (it retries with back-off)');
  // A watcher that is gone retries nothing: the error alone.
  const gone = withWatcher({
    state: 'present',
    statusFile: '/s',
    pid: 9,
    running: false,
    nextFullPassAt: null,
    lastPass: { error: { message: 'boom', terminal: false } },
  });
  t.true(gone.includes('\nlast pass failed: boom\n'), gone);
});

const durations = test.macro({
  exec: (t, seconds: number, text: string) => t.is(duration(seconds), text),
  title: (_, seconds: number, text: string) => `duration(${seconds}) is ${text}`,
});
test(durations, 0, '0s');
test(durations, 42, '42s');
test(durations, 312, '5m12s');
test(durations, 3600, '1h0m');
test(durations, 3 * 86400 + 4 * 3600 + 59, '3d4h');
test(durations, 1000 * 86400, '>999d');

test('wrap keeps words whole, indents continuations, and splits a word longer than the line, a path after a /', (t) => {
  t.deepEqual(wrap('aa bb cc dd', 5), ['aa bb', '  cc', '  dd']);
  t.deepEqual(wrap('abcdefghij', 5), ['abcde', '  fgh', '  ij']);
  t.deepEqual(wrap('see /opt/data/logs/gateways/coder/current now', 20), [
    'see',
    '  /opt/data/logs/',
    '  gateways/coder/',
    '  current now',
  ]);
  for (const line of wrap(LEGEND, 40)) t.true(line.length <= 40);
});

test('a slot path that is no directory shows its kind, and the legend says what that means', (t) => {
  const squat = row('squat', {
    slot: { present: true, kind: 'file', owned: false, marker: null },
    live: null,
    drift: ['create: slot path is a file, not a directory: move or delete it'],
  });
  const text = renderStatusTable([squat], { ...CTX, width: 1000 });
  t.regex(text, /^squat +running +file +- +- +create: slot path is a file, not a directory: move or delete it$/m);
  t.true(text.includes('file, symlink or other = the slot path is no directory (NOTE says what to do)'));
});

test("an invalid profile name's note gives the rule in words, not the pattern the log line keeps", (t) => {
  const skipped = (reason: string): string => {
    const intent = { stateFile: 'missing', desiredState: null, gatewayState: null, action: 'skipped', autostart: false, reason } as const;
    const text = renderStatusTable(
      [row('Bad.Name', { intent, slot: { present: false, kind: null, owned: false, marker: null }, live: null })],
      {
        ...CTX,
        width: 200,
      },
    );
    return tableOf(text)[1] ?? '';
  };
  const bad = skipped('invalid-name: name does not match ^[a-z0-9][a-z0-9_-]*$');
  t.true(
    bad.endsWith(
      "skipped: invalid profile name; rename the profile: lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 243 characters",
    ),
    bad,
  );
  t.regex(
    skipped('invalid-name: name longer than 243 characters'),
    /skipped: invalid profile name \(name longer than 243 characters\); rename/,
  );
  t.regex(skipped('tombstoned'), /skipped: tombstoned$/);
});

test('a state file whose desired_state Hermes never writes ("RUNNING") gets a note on its row; running and stopped get none', (t) => {
  const intent = (desiredState: string | null): StatusRow['intent'] => ({
    stateFile: 'parsed',
    desiredState,
    gatewayState: null,
    action: 'registered',
    autostart: false,
  });
  const text = renderStatusTable(
    [
      row('odd', { intent: intent('RUNNING'), live: null }),
      row('off', { intent: intent('stopped'), live: null }),
      row('on', { live: null }),
    ],
    { ...CTX, width: 400 },
  );
  const lines = tableOf(text);
  t.regex(
    lines.find((l) => l.startsWith('odd ')) ?? '',
    /desired_state is neither "running" nor "stopped"; only "running" starts it, so it stays down$/,
  );
  t.regex(lines.find((l) => l.startsWith('off ')) ?? '', /-\s*$/, 'stopped is a plain intent: no note');
  t.regex(lines.find((l) => l.startsWith('on ')) ?? '', /-\s*$/);
});

test('a CrashLooping note says where its log is (the s6-log directory under HERMES_HOME)', (t) => {
  const looping = row('coder', {
    driftConditions: [{ type: 'CrashLooping', since: '', forSeconds: 25, evidence: { exitcode: 1, restarts: 20, windowSeconds: 600 } }],
  });
  const line = tableOf(renderStatusTable([looping], { ...CTX, hermesHome: '/opt/data', width: 400 }))[1] ?? '';
  t.regex(
    line,
    /CrashLooping 25s \(exit 1, 20 restarts in 600 s\): its output is logged in \/opt\/data\/logs\/gateways\/coder\/current, its stderr \(a traceback\) where s6-svscan's goes \(the container log\)$/,
  );
});

test('a foreign slot with no profile says it is left as it is; one of ours with a profile says nothing', (t) => {
  const foreign = row('foreignx', {
    intent: { stateFile: 'unknown', desiredState: null, gatewayState: null, action: null, autostart: null },
    slot: { present: true, kind: 'dir', owned: false, marker: 'up' },
    live: null,
  });
  const lines = tableOf(renderStatusTable([foreign, row('a', { live: null })], { ...CTX, width: 400 }));
  t.regex(
    lines.find((l) => l.startsWith('foreignx ')) ?? '',
    /not made by this tool \(no \.reconcile-gateways\.json\) and no profile: left as it is$/,
  );
  t.regex(lines.find((l) => l.startsWith('a ')) ?? '', /-\s*$/);
});

test('with profiles/ unreadable, a slot whose profile is unknown says so, ours or not, instead of an empty NOTE', (t) => {
  const unknown = { stateFile: 'unknown', desiredState: null, gatewayState: null, action: null, autostart: null } as const;
  const ours = row('alice', { intent: unknown });
  const foreign = row('bob', { intent: unknown, slot: { present: true, kind: 'dir', owned: false, marker: 'up' } });
  const lines = tableOf(renderStatusTable([ours, foreign], { ...CTX, width: 400, profilesUnread: true }));
  for (const name of ['alice ', 'bob '])
    t.regex(
      lines.find((l) => l.startsWith(name)) ?? '',
      /its profile is unknown: profiles\/ cannot be read \(see the warning below\); the slot is left as it is$/,
    );
});

test('the legend says what every column but PROFILE means, and the words a row shows for nothing there', (t) => {
  const header = renderStatusTable([row('coder')], CTX).split('\n')[0] ?? '';
  const columns = header.split(/\s+/).filter((c) => c !== '' && c !== 'PROFILE');
  t.deepEqual(columns, ['INTENT', 'SLOT', 'LIVE', 'FOR', 'NOTE']);
  for (const column of columns) t.regex(LEGEND, new RegExp(`\\b${column}( =|:| leads)`), column);
  for (const word of ['missing or unreadable', 'none = no slot', '- = no supervisor state']) t.true(LEGEND.includes(word), word);
});

test('on a terminal LIVE is coloured by its word, drift conditions red and a warning label yellow; without the colours the table is the plain one', (t) => {
  const failed = row('broken', {
    live: { ...row('x').live!, up: false, pid: null, wantedUp: false, lastExit: { code: 78 }, permanentFailure: true },
  });
  const drifting = row('mute', {
    driftConditions: [{ type: 'LoggerDown', since: '', forSeconds: 40, evidence: { exitcode: 111 } }],
  });
  const ctx = { ...CTX, warnings: ['something odd'], width: 200 };
  const plain = renderStatusTable([row('a'), failed, drifting], ctx);
  const coloured = renderStatusTable([row('a'), failed, drifting], { ...ctx, colour: true });
  t.is(coloured.replace(/\u001b\[\d+m/g, ''), plain, 'same text, same alignment');
  const line = (p: string): string => coloured.split('\n').find((l) => l.startsWith(p)) ?? '';
  t.true(line('a ').includes('\u001b[32mup 812\u001b[39m'), line('a '));
  t.true(line('broken ').includes('\u001b[31mfailed exit 78\u001b[39m'), line('broken '));
  t.true(line('mute ').includes('\u001b[31mLoggerDown\u001b[39m'), line('mute '));
  t.true(coloured.includes('\u001b[33mwarning:\u001b[39m something odd'));
  t.false(plain.includes('\u001b'), 'no colour unless asked for');
});
