/**
 * Issue 16 #1, the memory budget of one pass: 10,000 profiles whose state files sit at the cap,
 * half a 64 KiB `[{},{},…]` (which took today's code to a V8 out-of-memory at 250 profiles) and
 * half a 64 KiB string. The pass must stay within a fixed budget and never carry the long values
 * into its output. On a private tmpfs, with the real sizes.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { STATE_FILE_CAP } from '../../../src/observe/parse.js';
import { MAIN } from '../../helpers/cli.js';
import { mountTmpfs, unmountTmpfs } from './tmpfs.js';
import { needsRoot } from '../../helpers/needs.js';

const PROFILES = 10_000;
/** Peak RSS a pass over PROFILES capped profiles may reach (it measured about 430 MiB). */
const RSS_BUDGET_KIB = 768 * 1024;
const TIME = '/usr/bin/time';

/**
 * Runs `sync --diff --output json` over `root`'s `home` and `scan` with `root/config.json` under GNU
 * time: its JSON document (it exits 1 when it plans changes) and its peak RSS in KiB, logged.
 */
function measuredDiff(t: ExecutionContext, root: string, home = path.join(root, 'home')): { stdout: string; peakKib: number } {
  const timeFile = path.join(root, 'time');
  const argv = [process.execPath, MAIN, 'sync', '--diff', '--output', 'json', '--hermes-home', home];
  const flags = ['--scandir', path.join(root, 'scan'), '--container-argv', '[]', '--config', path.join(root, 'config.json')];
  let stdout = '';
  try {
    stdout = execFileSync(TIME, ['-o', timeFile, '-f', '%M', ...argv, ...flags], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch (err) {
    stdout = String((err as { stdout?: string }).stdout ?? ''); // --diff exits 1 when it plans changes
  }
  const peakKib = Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop());
  t.log(`peak RSS ${Math.round(peakKib / 1024)} MiB`);
  return { stdout, peakKib };
}

let mount: string | undefined;
const listingMounts: string[] = [];
test.after.always('unmount the tmpfs', () => {
  unmountTmpfs(mount);
  for (const m of listingMounts) unmountTmpfs(m);
});

needsRoot(test)(
  `a pass over ${PROFILES} profiles with state files at the cap stays within ${RSS_BUDGET_KIB / 1024} MiB and echoes no long value`,
  async (t) => {
    t.timeout(170_000);
    if (!fs.existsSync(TIME)) return t.fail(`${TIME} is needed to measure the peak RSS of the CLI (apt-get install time)`);
    mount = await mountTmpfs('rg-memory', '1g');
    const home = path.join(mount, 'home');
    const nested = `{"desired_state":[${'{},'.repeat(21_500)}{}]}`;
    const long = JSON.stringify({ desired_state: `running ${'x'.repeat(64_000)}` });
    t.true(nested.length <= STATE_FILE_CAP && long.length <= STATE_FILE_CAP && nested.length > STATE_FILE_CAP - 1024);
    for (let i = 0; i < PROFILES; i += 1) {
      const dir = path.join(home, 'profiles', `p${i}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'SOUL.md'), 's');
      fs.writeFileSync(path.join(dir, 'gateway_state.json'), i % 2 === 0 ? nested : long);
    }
    fs.mkdirSync(path.join(mount, 'scan'));
    fs.writeFileSync(path.join(mount, 'config.json'), JSON.stringify({ uid: 65534, gid: 65534 }));
    const { stdout, peakKib } = measuredDiff(t, mount, home);
    t.true(peakKib < RSS_BUDGET_KIB, `peak RSS ${peakKib} KiB is over the budget`);
    const doc = JSON.parse(stdout) as { profiles: { priorState: string | null }[] };
    t.is(doc.profiles.length, PROFILES + 1);
    t.true(
      doc.profiles.every((p) => p.priorState === null || p.priorState.length < 300),
      'a long value reached the plan whole',
    );
    t.true(stdout.length < 32 * 1024 * 1024);
  },
);

/** Empty directories a volume user makes under profiles/ (no SOUL.md: no profiles). */
const EMPTY_DIRS = 300_000;
/** Peak RSS of a pass over them: it measured about 125 MiB on Node 20–26 (310 MiB when the listing was held whole). */
const DIRS_RSS_BUDGET_KIB = 200 * 1024;
/** Peak RSS of a pass over as many files in HERMES_HOME itself, which is never listed. */
const HOME_RSS_BUDGET_KIB = 120 * 1024;

/**
 * A pass over EMPTY_DIRS empty directories or files under profiles/, or files in HERMES_HOME itself
 * (a volume user's mkdir or touch loop): no listing of either is held whole.
 */
function listingBudget(kind: 'directories' | 'files' | 'files in HERMES_HOME') {
  return async (t: ExecutionContext): Promise<void> => {
    t.timeout(170_000);
    if (!fs.existsSync(TIME)) return t.fail(`${TIME} is needed to measure the peak RSS of the CLI (apt-get install time)`);
    const dirsMount = await mountTmpfs(`rg-${kind}`, '1g');
    listingMounts.push(dirsMount);
    const profiles = path.join(dirsMount, 'home', 'profiles');
    fs.mkdirSync(profiles, { recursive: true });
    const where = kind === 'files in HERMES_HOME' ? path.dirname(profiles) : profiles;
    // HERMES_HOME is only ever opened, never listed: names of 240 bytes make a whole listing show.
    const prefix = kind === 'files in HERMES_HOME' ? 'f'.repeat(240) : 'f';
    // Directories raise the link count, files only the directory's size: either must stream.
    for (let i = 0; i < EMPTY_DIRS; i += 1) {
      if (kind === 'directories') fs.mkdirSync(path.join(where, `d${i}`));
      else fs.writeFileSync(path.join(where, `${prefix}${i}`), '');
    }
    fs.mkdirSync(path.join(profiles, 'real'));
    fs.writeFileSync(path.join(profiles, 'real', 'SOUL.md'), 's');
    fs.mkdirSync(path.join(dirsMount, 'scan'));
    fs.writeFileSync(path.join(dirsMount, 'config.json'), JSON.stringify({ uid: 65534, gid: 65534 }));
    const { stdout, peakKib } = measuredDiff(t, dirsMount);
    // A HERMES_HOME is never listed at all: about 47 MiB, where its listing held whole took 221.
    const budget = kind === 'files in HERMES_HOME' ? HOME_RSS_BUDGET_KIB : DIRS_RSS_BUDGET_KIB;
    t.true(peakKib < budget, `peak RSS ${peakKib} KiB is over the budget of ${budget} KiB`);
    const doc = JSON.parse(stdout) as { profiles: { profile: string }[] };
    t.deepEqual(doc.profiles.map((p) => p.profile).sort(), ['default', 'real']);
  };
}
for (const kind of ['directories', 'files', 'files in HERMES_HOME'] as const)
  needsRoot(test).serial(
    `${EMPTY_DIRS} empty ${kind.includes(' in ') ? kind : `${kind} under profiles/`} are never listed whole: the pass stays within ${(kind.includes(' in ') ? HOME_RSS_BUDGET_KIB : DIRS_RSS_BUDGET_KIB) / 1024} MiB and finds the one profile`,
    listingBudget(kind),
  );

/** Slot-named directories of no profile the hermes user makes in a scandir it can write. */
const FOREIGN_SLOTS = 200_000;
/** Peak RSS of a pass over them: about 95 MiB (234 MiB when every one was kept). */
const FOREIGN_RSS_BUDGET_KIB = 150 * 1024;

needsRoot(test).serial(
  `${FOREIGN_SLOTS} slot-named directories of no profile in the scandir are counted, not kept: the pass stays within ${FOREIGN_RSS_BUDGET_KIB / 1024} MiB and says so`,
  async (t) => {
    t.timeout(170_000);
    if (!fs.existsSync(TIME)) return t.fail(`${TIME} is needed to measure the peak RSS of the CLI (apt-get install time)`);
    const root = await mountTmpfs('rg-foreign-slots', '1g');
    listingMounts.push(root);
    fs.mkdirSync(path.join(root, 'home', 'profiles', 'real'), { recursive: true });
    fs.writeFileSync(path.join(root, 'home', 'profiles', 'real', 'SOUL.md'), 's');
    const scan = path.join(root, 'scan');
    fs.mkdirSync(scan);
    for (let i = 0; i < FOREIGN_SLOTS; i += 1) fs.mkdirSync(path.join(scan, `gateway-x${i}`));
    fs.writeFileSync(path.join(root, 'config.json'), JSON.stringify({ uid: 65534, gid: 65534 }));
    const { stdout, peakKib } = measuredDiff(t, root);
    t.true(peakKib < FOREIGN_RSS_BUDGET_KIB, `peak RSS ${peakKib} KiB is over the budget of ${FOREIGN_RSS_BUDGET_KIB} KiB`);
    const doc = JSON.parse(stdout) as { warnings: string[]; operations: { service: string }[] };
    t.true(
      doc.warnings.some((w) => w.startsWith(`${FOREIGN_SLOTS - 1000} more directories in the scandir are named like slots`)),
      doc.warnings.join('\n'),
    );
    t.false(
      doc.operations.some((op) => op.service.startsWith('gateway-x')),
      'none of them is touched',
    );
  },
);
