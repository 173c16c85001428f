/**
 * The `status` table as an operator reads it, over a real s6: an `s6-svc -d` shows as stopped
 * (s6 or operator), never as a permanent failure; a skipped profile says why in its row; every
 * line fits 100 columns, or COLUMNS, however long a profile name is, and a note too long for its
 * row goes on under NOTE.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { runCli } from '../../helpers/cli.js';
import { needsS6 } from '../../helpers/needs.js';
import { waitFor } from '../../helpers/s6.js';

const RUNNING = { desired_state: 'running' };
const LONG = 'a-profile-name-long-enough-to-crowd-every-other-column-out';
test.after.always('stop s6, remove temp dirs', removeS6Worlds);

needsS6(test)(
  "an operator's s6-svc -d is 'stopped (s6 or operator)', a skipped profile gives its reason, and lines fit the width",
  async (t) => {
    const env = await makeS6World('live', { profiles: { op: RUNNING, [LONG]: RUNNING, BadName: RUNNING } });
    t.is((await env.cli('sync')).code, 0);
    await env.waitUp('op');
    await promisify(execFile)('s6-svc', ['-d', env.slot('op')]);
    await env.svscan.waitDown('gateway-op');

    const json = await env.json('status');
    t.is(json.code, 0, json.stderr);
    const rows = json.doc['profiles'] as { profile: string; live: { permanentFailure: boolean; wantedUp: boolean } | null }[];
    t.like(rows.find((r) => r.profile === 'op')?.live, { permanentFailure: false, wantedUp: false });

    for (const columns of [undefined, '80']) {
      const r = await runCli(
        ['status', ...env.flags, '--status-file', `${env.root}/none.json`],
        columns === undefined ? {} : { env: { COLUMNS: columns } },
      );
      t.is(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      const limit = Number(columns ?? 100);
      for (const l of lines) t.true(l.length <= limit, `fits ${limit} columns: ${l}`);
      const op = lines.find((l) => l.startsWith('op '));
      t.regex(op ?? '', /^op +running +ours,up +stopped sig 15 +\S+ +live: stopped /);
      // (a word longer than the NOTE column, such as the slot's path, is split across lines)
      t.is(
        noteOf(lines, 'op ').replace(/ /g, ''),
        `live: stopped (s6 or operator); s6-svc -u ${env.slot('op')} starts it`.replace(/ /g, ''),
        'the note is whole, on its row and any lines under it',
      );
      t.regex(lines.find((l) => l.startsWith('BadName ')) ?? '', /skipped: /);
      t.true(
        lines.some((l) => l.startsWith('a-profile-n')),
        `a long name is cut, not wrapped:\n${r.stdout}`,
      );
      t.false(op?.includes('failed'), 'the stopped row claims no failure');
    }

    // The command the note suggests runs as printed, from anywhere.
    const drift = (json.doc['profiles'] as { profile: string; drift: string[] }[]).find((r) => r.profile === 'op')?.drift ?? [];
    const command = /; (s6-svc -u .*) starts it$/.exec(drift.find((n) => n.startsWith('live: stopped')) ?? '')?.[1];
    t.truthy(command, drift.join('\n'));
    await promisify(execFile)('sh', ['-c', command ?? 'false'], { cwd: '/' });
    await env.waitUp('op');
  },
);

/** The NOTE of the row that starts with `prefix`: its cell plus the lines under it, joined. */
function noteOf(lines: readonly string[], prefix: string): string {
  const start = lines[0]?.indexOf('NOTE') ?? -1;
  const at = lines.findIndex((l) => l.startsWith(prefix));
  const parts = [lines[at]?.slice(start) ?? ''];
  for (const l of lines.slice(at + 1)) {
    if (l === '' || l.slice(0, start).trim() !== '') break;
    parts.push(l.slice(start));
  }
  return parts.join(' ');
}

needsS6(test)(
  'a gateway s6-supervise cannot spawn (its interpreter is missing) is noted past the drift grace, not left at "starting"',
  async (t) => {
    const env = await makeS6World('spawn', { profiles: { lost: RUNNING }, settings: { shebang: '#!/nonexistent/sh' } });
    t.is((await env.cli('sync')).code, 0);
    let conditions: { type: string; evidence: object }[] = [];
    const note = async (): Promise<string> => {
      const doc = (await env.json('status', ['--drift-grace', '1'])).doc;
      const rows = doc['profiles'] as { profile: string; drift: string[]; driftConditions: typeof conditions }[];
      const row = rows.find((r) => r.profile === 'lost');
      conditions = row?.driftConditions ?? [];
      return row?.drift.join('; ') ?? '';
    };
    // s6-supervise retries every 10 s and keeps its down time: past the 3 s a service s6 wants up
    // needs (WANTED_UP_DOWN_MIN_SECONDS, more than --drift-grace 1), the note must come.
    let seen = '';
    // Its log/run has the same missing interpreter: the logger is down as long, LoggerDown.
    await waitFor(
      async () => (seen = await note()).includes('has not started ./run') && seen.includes('LoggerDown'),
      20_000,
      'the cannot-spawn note and the logger down',
    );
    t.regex(
      seen,
      /^live: wanted up, yet down for \d+ s: s6-supervise has not started \.\/run \(can it run\? s6-svscan's output says why\); IntentRunningButDown for \d+ s; LoggerDown for \d+ s$/,
    );
    t.deepEqual(
      conditions.map((c) => [c.type, c.evidence]),
      [
        ['IntentRunningButDown', {}],
        ['LoggerDown', {}],
      ],
      'an alert on the condition fires; no exit is made up for a run that never ran',
    );
    const heal = await env.json('sync', ['--heal', '--drift-grace', '1']);
    t.deepEqual(heal.doc['operations'], [], 's6 already wants it up: no heal');
    t.regex(heal.stderr, /gateway-lost: no heal: s6 already wants it up but has not started \.\/run/);
  },
);
