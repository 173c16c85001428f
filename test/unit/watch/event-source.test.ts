import test from 'ava';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CANDIDATE_WATCHES, EventSource, REENUMERATE_EVERY, keptDirBudget } from '../../../src/watch/event-source.js';
import type { Hint } from '../../../src/watch/hints.js';
import { needsRoot } from '../../helpers/needs.js';

function home(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-events-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of ['alpha', 'beta']) {
    fs.mkdirSync(path.join(dir, 'home', 'profiles', name), { recursive: true });
    fs.writeFileSync(path.join(dir, 'home', 'profiles', name, 'SOUL.md'), '');
  }
  fs.mkdirSync(path.join(dir, 'scan'));
  return dir;
}

function source(dir: string, hints: Hint[], keptDirs?: number, napMs?: number, warnings?: string[]): EventSource {
  return new EventSource({
    ...(napMs === undefined ? {} : { napMs }),
    hermesHome: path.join(dir, 'home'),
    scandir: path.join(dir, 'scan'),
    onHint: (h) => hints.push(h),
    servicePrefix: () => 'gateway-',
    warn: (m) => warnings?.push(m),
    ...(keptDirs === undefined ? {} : { keptDirs }),
  });
}

const inode = (fd: number): number => fs.fstatSync(fd).ino;

test('the descriptor budget is half the soft limit, less a reserve, never negative', (t) => {
  const limits =
    'Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                1048576              files\n';
  t.is(keptDirBudget(limits), 9936);
  t.is(keptDirBudget(undefined), 448); // 1024 assumed
  t.is(keptDirBudget('Max open files            64                   64                   files\n'), 0);
});

test('watched profile directories stay open on the watched inode, and follow a replaced directory', async (t) => {
  const dir = home(t);
  const events = source(dir, []);
  t.teardown(() => events.close());
  await events.refresh();
  const alpha = events.watchedDir('alpha');
  if (alpha === undefined) return t.fail('alpha is not kept open');
  t.is(inode(alpha.fd), fs.statSync(path.join(dir, 'home', 'profiles', 'alpha')).ino);
  t.is(inode(events.watchedDir('default')?.fd ?? -1), fs.statSync(path.join(dir, 'home')).ino, 'the root profile is HERMES_HOME');
  // Replaced (as a delete and re-create would): the next refresh watches and keeps the new inode.
  fs.renameSync(path.join(dir, 'home', 'profiles', 'alpha'), path.join(dir, 'old-alpha'));
  fs.mkdirSync(path.join(dir, 'home', 'profiles', 'alpha'));
  await events.refresh();
  t.is(inode(events.watchedDir('alpha')?.fd ?? -1), fs.statSync(path.join(dir, 'home', 'profiles', 'alpha')).ino);
  // Gone: no longer watched, nothing kept.
  fs.rmSync(path.join(dir, 'home', 'profiles', 'beta'), { recursive: true });
  await events.refresh();
  t.is(events.watchedDir('beta'), undefined);
  events.close();
  t.is(events.watchedDir('alpha'), undefined);
});

test('over the budget a directory is still watched but not kept open', async (t) => {
  const dir = home(t);
  const hints: Hint[] = [];
  const events = source(dir, hints, 0);
  t.teardown(() => events.close());
  await events.refresh();
  t.is(events.watchedDir('alpha'), undefined);
  t.is(events.watchedDir('default'), undefined);
  fs.writeFileSync(path.join(dir, 'home', 'profiles', 'alpha', 'gateway_state.json'), '{}');
  const deadline = Date.now() + 5000;
  while (!hints.some((h) => h.kind === 'intent' && h.profile === 'alpha') && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 10));
  t.true(
    hints.some((h) => h.kind === 'intent' && h.profile === 'alpha'),
    'the state-file event still arrives',
  );
});

test('naps after events lose nothing: heartbeats written during a nap all arrive, as one batch per wake-up', async (t) => {
  const dir = home(t);
  const names = Array.from({ length: 40 }, (_, i) => `p${i}`);
  for (const name of names) fs.mkdirSync(path.join(dir, 'home', 'profiles', name));
  const hints: Hint[] = [];
  const turns: number[] = [];
  let turn = 0;
  const events = new EventSource({
    hermesHome: path.join(dir, 'home'),
    scandir: path.join(dir, 'scan'),
    onHint: (h) => {
      hints.push(h);
      turns.push(turn);
    },
    servicePrefix: () => 'gateway-',
    warn: () => undefined,
    napMs: 300,
  });
  t.teardown(() => events.close());
  await events.refresh();
  // A separate process writes the way a gateway heartbeats (tmp + rename), 40 profiles over ~1 s,
  // while this loop naps 300 ms after each batch of events it reads.
  const script = `const fs=require('fs'),p=require('path');const names=${JSON.stringify(names)};const t0=Date.now();let i=0;const tick=()=>{const d=p.join(${JSON.stringify(path.join(dir, 'home', 'profiles'))},names[i]);fs.writeFileSync(p.join(d,'.tmp'),'{"desired_state":"running"}');fs.renameSync(p.join(d,'.tmp'),p.join(d,'gateway_state.json'));if(++i<names.length)setTimeout(tick,25);else process.stdout.write(String(Date.now()-t0))};tick();`;
  // A timer ticking every millisecond numbers the loop's turns: hints of one turn came from one wake-up.
  const ticker = setInterval(() => {
    turn += 1;
  }, 1);
  t.teardown(() => clearInterval(ticker));
  const writer = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let written = '';
  writer.stdout.on('data', (b: Buffer) => (written += b.toString()));
  await new Promise((resolve) => writer.once('close', resolve));
  const seen = (): Set<string> => new Set(hints.flatMap((h) => (h.kind === 'intent' ? [h.profile] : [])));
  const deadline = Date.now() + 10_000;
  while (seen().size < names.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  t.deepEqual([...seen()].sort(), [...names].sort());
  // One wake-up per nap at most while the writer wrote (however long a loaded machine made that),
  // plus the first and the last: never one per write.
  const batches = new Set(turns).size;
  const naps = Math.ceil(Number(written) / 300) + 2;
  t.true(batches <= naps, `40 writes over ${written} ms arrived in ${batches} wake-ups`);
});

test('a refresh keeps the profile watches while profiles/ is unchanged, and picks up a new profile at once', async (t) => {
  const dir = home(t);
  const events = source(dir, []);
  t.teardown(() => events.close());
  await events.refresh();
  const alpha = events.watchedDir('alpha');
  await events.refresh();
  t.is(events.watchedDir('alpha'), alpha, 'an unchanged profiles/ keeps the same watch and descriptor');
  t.truthy(events.watchedDir('beta'));
  fs.mkdirSync(path.join(dir, 'home', 'profiles', 'gamma'));
  fs.writeFileSync(path.join(dir, 'home', 'profiles', 'gamma', 'SOUL.md'), '');
  await events.refresh();
  t.truthy(events.watchedDir('gamma'), 'a directory created in profiles/ is watched at the next refresh');
  t.is(events.watchedDir('alpha'), alpha);
});

test('a SOUL.md written into an unwatched directory beyond the candidate cap is watched within a bounded number of refreshes', async (t) => {
  const dir = home(t);
  const profiles = path.join(dir, 'home', 'profiles');
  for (let i = 0; i < CANDIDATE_WATCHES + 1; i++) fs.mkdirSync(path.join(profiles, `empty-${String(i).padStart(3, '0')}`));
  fs.mkdirSync(path.join(profiles, 'zz-late'));
  const events = source(dir, []);
  t.teardown(() => events.close());
  await events.refresh();
  t.is(events.watchedDir('zz-late'), undefined, 'beyond the cap, a directory without SOUL.md is not watched');
  // Writing into a subdirectory does not change profiles/ itself.
  fs.writeFileSync(path.join(profiles, 'zz-late', 'SOUL.md'), '');
  let refreshes = 0;
  while (events.watchedDir('zz-late') === undefined && refreshes < REENUMERATE_EVERY + 1) {
    await events.refresh();
    refreshes += 1;
  }
  t.truthy(events.watchedDir('zz-late'));
  t.true(refreshes <= REENUMERATE_EVERY);
});

test("the watcher's own output files give no hints, even under profiles/ where a profile could be", async (t) => {
  const dir = home(t);
  const hints: Hint[] = [];
  const profiles = path.join(dir, 'home', 'profiles');
  const own = path.join(profiles, 'rg-status.json');
  // Named through another path (a symlink), as an operator may spell --status-file: still ours.
  fs.symlinkSync(profiles, path.join(dir, 'alias'));
  const spelled = path.join(dir, 'alias', 'rg-status.json');
  const events = new EventSource({
    hermesHome: path.join(dir, 'home'),
    scandir: path.join(dir, 'scan'),
    onHint: (h) => hints.push(h),
    servicePrefix: () => 'gateway-',
    warn: () => undefined,
    napMs: 0,
    ownFiles: [spelled, `${spelled}.lock`],
  });
  t.teardown(() => events.close());
  await events.refresh();
  // As the watcher writes it, after every pass (its real temp file is dot-named, ignored anyway).
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(`${own}.tmp-${i}`, '{}');
    fs.renameSync(`${own}.tmp-${i}`, own);
  }
  fs.writeFileSync(`${own}.lock`, '');
  fs.mkdirSync(path.join(profiles, 'gamma')); // a real change, after those: its hint comes last
  const until = Date.now() + 20_000;
  while (!hints.some((h) => h.kind === 'profile' && h.profile === 'gamma') && Date.now() < until)
    await new Promise((r) => setTimeout(r, 10));
  const named = hints.flatMap((h) => (h.kind === 'full' ? [] : [h.profile]));
  t.true(named.includes('gamma'), 'the real change is seen');
  t.false(named.includes('rg-status.json'), 'the status file is no profile');
  t.false(named.includes('rg-status.json.lock'), 'nor its lock');
});

test('a directory that cannot be watched is warned about once while it stays so, and again when it comes back after it was watched or gone', async (t) => {
  const dir = home(t);
  const warnings: string[] = [];
  const events = source(dir, [], undefined, 0, warnings);
  t.teardown(() => events.close());
  const tombstones = path.join(dir, 'home', 'profiles', '.deleted');
  const said = (): number => warnings.filter((m) => /^cannot watch profiles\/\.deleted: .*ENOTDIR/.test(m)).length;
  fs.writeFileSync(tombstones, ''); // a file where the tombstone directory goes
  for (let i = 0; i < REENUMERATE_EVERY + 1; i++) await events.refresh();
  t.is(said(), 1, 'a problem that persists is said once');
  // Put right, so watched; then broken again: said again.
  fs.rmSync(tombstones);
  fs.mkdirSync(tombstones);
  await events.refresh();
  fs.rmSync(tombstones, { recursive: true });
  fs.writeFileSync(tombstones, '');
  await events.refresh();
  await events.refresh();
  t.is(said(), 2, 'warned again after its watch held');
  // Gone, then back as broken as before: said again.
  fs.rmSync(tombstones);
  await events.refresh();
  fs.writeFileSync(tombstones, '');
  await events.refresh();
  t.is(said(), 3, 'warned again after it was gone');
  t.deepEqual(
    warnings.filter((m) => !m.startsWith('cannot watch profiles/.deleted: ')),
    [],
  );
});

// A non-root watcher (euid nobody) meets profile directories it may not open (root's 0700). Serial:
// the euid is the whole process's, and ava runs serial tests before the concurrent ones.
needsRoot(test).serial(
  'an unopenable profile directory is warned about once while it stays so, and again when it comes back after it went away or opened',
  async (t) => {
    const dir = home(t);
    fs.chmodSync(dir, 0o755);
    const profiles = path.join(dir, 'home', 'profiles');
    const warnings: string[] = [];
    const events = source(dir, [], undefined, 0, warnings);
    t.teardown(() => events.close());
    const refresh = async (times = 1): Promise<void> => {
      process.seteuid!(65534);
      try {
        for (let i = 0; i < times; i++) await events.refresh();
      } finally {
        process.seteuid!(0);
      }
    };
    const lock = (name: string): void => {
      fs.mkdirSync(path.join(profiles, name), { recursive: true });
      fs.chmodSync(path.join(profiles, name), 0o700);
    };
    const said = (name: string): number => warnings.filter((m) => m.startsWith(`cannot watch profiles/${name}: `)).length;
    // Profile churn: each unopenable directory is said once, and forgotten once it is gone.
    for (let i = 0; i < 20; i++) {
      lock(`churn-${i}`);
      await refresh(2);
      fs.rmdirSync(path.join(profiles, `churn-${i}`));
    }
    await refresh();
    t.is(warnings.length, 20, warnings.join('\n'));
    t.true(
      warnings.every((m) => /EACCES/.test(m)),
      warnings.join('\n'),
    );
    lock('churn-0');
    await refresh();
    t.is(said('churn-0'), 2, 'the same directory, back as unopenable as before, is said again');
    // One that stays: said once over several enumerations; opened, then locked again: said again.
    lock('stuck');
    await refresh(REENUMERATE_EVERY * 2 + 1);
    t.is(said('stuck'), 1);
    fs.chmodSync(path.join(profiles, 'stuck'), 0o755);
    await refresh(REENUMERATE_EVERY);
    t.truthy(events.watchedDir('stuck'), 'watched once it opens');
    fs.chmodSync(path.join(profiles, 'stuck'), 0o700);
    await refresh(REENUMERATE_EVERY);
    t.is(said('stuck'), 2);
  },
);

// inotify's limits cannot be reached here without lowering a global sysctl under every other
// test: fs.watch is made to fail as the kernel does once max_user_watches is reached.
test.serial('inotify limits reached are said once, naming the limit, not once per directory or every enumeration', async (t) => {
  const dir = home(t);
  const real = fs.watch;
  let allowed = 3;
  fs.watch = ((...args: Parameters<typeof fs.watch>) => {
    if (allowed <= 0) throw Object.assign(new Error('ENOSPC: System limit for number of file watchers reached, watch'), { code: 'ENOSPC' });
    allowed -= 1;
    return real(...args);
  }) as typeof fs.watch;
  t.teardown(() => {
    fs.watch = real;
  });
  const warnings: string[] = [];
  const events = source(dir, [], undefined, 0, warnings);
  t.teardown(() => events.close());
  for (let i = 0; i < REENUMERATE_EVERY * 2 + 5; i++) await events.refresh();
  const said = warnings.filter((m) => m.startsWith('cannot watch directories for changes: ENOSPC'));
  t.is(said.length, 1, warnings.join('\n'));
  t.true(said[0]?.includes('fs.inotify.max_user_watches'), said[0]);
  t.false(
    warnings.some((m) => m.startsWith('cannot watch ') && !m.startsWith('cannot watch directories')),
    'no warning per directory',
  );
  // The limit frees: the next refresh watches every profile, not one up to ten refreshes later.
  t.is(events.size, 3);
  allowed = 100;
  await events.refresh();
  t.truthy(events.watchedDir('alpha'), 'alpha');
  t.truthy(events.watchedDir('beta'), 'beta');
});
