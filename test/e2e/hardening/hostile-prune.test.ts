/**
 * Issue 16 #5: a supervisor that never exits (here a root process reading a pruned slot's
 * `supervise/control` and working in the slot, as s6-supervise does; a mere reader that works
 * elsewhere is not waited for at all: live/foreign-state, safe-fs/fifo). The removal waits for it
 * within one budget for the whole pass (not 15 s per slot, under the lock), reports the rest as
 * pending removal, `status` shows it, and a later pass finishes once it is gone.
 */
import test from 'ava';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { mountTmpfs, unmountTmpfs } from './tmpfs.js';
import {
  killGroup,
  makeWorld,
  removeWorlds,
  runCli,
  runWorld,
  runWorldJson,
  startCli,
  worldArgs,
  writeProfiles,
} from '../../helpers/cli.js';
import { needsRoot } from '../../helpers/needs.js';

const readers: ChildProcess[] = [];
test.after.always('stop readers, remove scratch trees', async () => {
  for (const r of readers) killGroup(r, 'SIGKILL');
  await removeWorlds();
});

/** A supervisor that never exits: holds `fifo` (a `supervise/control`) open and works in its slot; resolves once it holds it. */
async function holdReader(fifo: string): Promise<ChildProcess> {
  const script =
    "const fs=require('fs');fs.openSync(process.argv[1],fs.constants.O_RDONLY|fs.constants.O_NONBLOCK);process.stdout.write('held\\n');setInterval(()=>{},1e6);";
  const cwd = path.dirname(path.dirname(fifo));
  const child = spawn(process.execPath, ['-e', script, fifo], { cwd, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  readers.push(child);
  await new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  return child;
}

test('#5 four pruned slots whose supervisors never exit cost one bounded wait, are reported pending, and finish later', async (t) => {
  t.timeout(120_000);
  const l = await makeWorld('held-fifo');
  const victims = ['v1', 'v2', 'v3', 'v4'];
  writeProfiles(l.home, { keep: 'running', ...Object.fromEntries(victims.map((v) => [v, 'running'])) });
  t.is((await runWorld('boot', l)).code, 0);
  const held = await Promise.all(victims.map((v) => holdReader(path.join(l.scandir, `gateway-${v}`, 'supervise', 'control'))));
  for (const v of victims) fs.rmSync(path.join(l.home, 'profiles', v), { recursive: true });

  // One budget (10 s) for the whole pass: a 40 s deadline that 15 s per slot (60 s) never met.
  const { doc, ...result } = await runWorldJson('sync', l, [], { timeoutMs: 40_000 });
  t.false(result.timedOut, 'the pass waited unbounded under the lock');
  t.is(result.code, 2, result.stderr);
  const removes = (doc.operations ?? []).filter((o) => o.kind === 'remove');
  t.is(removes.length, 4);
  for (const op of removes) t.regex(String(op.error), /^pending removal: the supervisor of gateway-v\d still runs/);
  for (const v of victims) t.false(fs.existsSync(path.join(l.scandir, `gateway-${v}`)), 'the slot left the scandir');

  const status = await runCli(['status', ...worldArgs(l)]);
  t.regex(
    status.stdout + status.stderr,
    /gateway-v1: removal pending: supervisor still running in the trash; the next sync or\s+watch\s+pass finishes it/,
  );

  for (const r of held) killGroup(r, 'SIGKILL');
  await Promise.all(
    held.map((r) => new Promise((resolve) => (r.exitCode !== null || r.signalCode !== null ? resolve(null) : r.once('exit', resolve)))),
  );
  const again = await runWorldJson('sync', l);
  t.is(again.code, 0, again.stderr);
  t.deepEqual(
    (again.doc.operations ?? []).map((o) => `${o.kind} ${o.service} ${o.status}`),
    victims.map((v) => `purge gateway-${v} applied`),
  );
  t.deepEqual(fs.readdirSync(path.join(l.scandir, '.reconcile-gateways', 'trash')), []);
  t.deepEqual((await runWorldJson('sync', l)).doc.operations, [], 'converged');
});

needsRoot(test)('#6 a slot whose event/ holds 30,000 nested directories is removed in one pass', async (t) => {
  t.timeout(90_000);
  const mount = await mountTmpfs('rg-deep-event', '256m');
  t.teardown(() => unmountTmpfs(mount));
  const l = await makeWorld('deep-event', { parent: mount });
  writeProfiles(l.home, { keep: 'running', deep: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  const script = "const fs=require('fs');process.chdir(process.argv[1]);for(let i=0;i<30000;i++){fs.mkdirSync('d');process.chdir('d');}";
  await new Promise((resolve) =>
    spawn(process.execPath, ['-e', script, path.join(l.scandir, 'gateway-deep', 'event')], { stdio: 'inherit' }).on('exit', resolve),
  );
  fs.rmSync(path.join(l.home, 'profiles', 'deep'), { recursive: true });
  const { doc, ...result } = await runWorldJson('sync', l, [], { timeoutMs: 80_000 });
  t.is(result.code, 0, result.stderr);
  t.deepEqual(
    (doc.operations ?? []).map((o) => `${o.kind} ${o.service} ${o.status}`),
    ['remove gateway-deep applied'],
  );
  t.deepEqual(fs.readdirSync(path.join(l.scandir, '.reconcile-gateways', 'trash')), []);
});

test('#5 watch exits promptly on SIGTERM while a pass waits for a supervisor that never exits', async (t) => {
  t.timeout(60_000);
  const l = await makeWorld('watch-term');
  writeProfiles(l.home, { keep: 'running', held: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  await holdReader(path.join(l.scandir, 'gateway-held', 'supervise', 'control'));
  fs.rmSync(path.join(l.home, 'profiles', 'held'), { recursive: true });
  const args = worldArgs(l);
  const watch = startCli(['watch', ...args, '--status-file', path.join(l.root, 'watch.json')], { timeoutMs: 12_000 });
  const trashed = path.join(l.scandir, '.reconcile-gateways', 'trash', 'gateway-held');
  // The pass is waiting for the held "supervisor" once the slot is in the trash; the 12 s liveness
  // deadline is less than the 15 s a removal used to wait.
  while (!fs.existsSync(trashed)) await new Promise((r) => setTimeout(r, 20));
  killGroup(watch.child, 'SIGTERM');
  const ended = await watch.done;
  t.false(ended.timedOut, 'watch kept waiting after SIGTERM');
  t.is(ended.code, 0, ended.stderr);
});
