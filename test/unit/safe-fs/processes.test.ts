/**
 * src/safe-fs/processes.ts: which directories processes of root or of this user work in, read from
 * /proc. The processes are children of this test, started in temp directories.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { processTable } from '../../../src/safe-fs/processes.js';
import { svscanStandIn } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { tempRoot } from '../support.js';

/** A `sleep` working in `dir`, as `uid` when given (root only), stopped at teardown; resolves once it runs there. */
async function workIn(t: ExecutionContext, dir: string, uid?: number): Promise<ChildProcess> {
  const child = spawn('sleep', ['100000'], { cwd: dir, stdio: 'ignore', ...(uid === undefined ? {} : { uid, gid: uid }) });
  t.teardown(() => child.kill('SIGKILL'));
  const pid = child.pid;
  if (pid === undefined) throw new Error('sleep could not be started');
  const want = fs.statSync(dir).ino;
  for (let i = 0; i < 500; i++) {
    try {
      if (fs.statSync(`/proc/${pid}/cwd`).ino === want && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep') return child;
    } catch {
      // not there yet
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`sleep never worked in ${dir}`);
}

const keyOf = (dir: string): [number, number] => {
  const st = fs.statSync(dir);
  return [st.dev, st.ino];
};

test('a directory a process of this user works in is found; one nobody works in is not; once it exits, neither', async (t) => {
  const { root } = tempRoot(t);
  const busy = path.join(root, 'busy');
  const idle = path.join(root, 'idle');
  fs.mkdirSync(busy);
  fs.mkdirSync(idle);
  const worker = await workIn(t, busy);
  t.true(processTable().isCwdOfTrusted(...keyOf(busy)), 'one working there is seen, whatever else is');
  t.is(processTable().isCwdOfTrusted(...keyOf(idle)), undefined, 'without the scandir’s s6-svscan in sight, nobody is no proof');
  svscanStandIn(t, root);
  const table = processTable(keyOf(root));
  t.true(table.isCwdOfTrusted(...keyOf(busy)));
  t.false(table.isCwdOfTrusted(...keyOf(idle)));
  worker.kill('SIGKILL');
  await new Promise((resolve) => worker.once('exit', resolve));
  t.true(table.isCwdOfTrusted(...keyOf(busy)), 'one table is one look');
  t.false(processTable(keyOf(root)).isCwdOfTrusted(...keyOf(busy)), 'a new look sees it gone');
});

needsRoot(test)('a process of another user (not root, not this user) working there does not count', async (t) => {
  const { root } = tempRoot(t);
  fs.chmodSync(root, 0o755);
  const theirs = path.join(root, 'theirs');
  fs.mkdirSync(theirs, { mode: 0o755 });
  await workIn(t, theirs, 65534);
  svscanStandIn(t, root);
  t.false(processTable(keyOf(root)).isCwdOfTrusted(...keyOf(theirs)));
});
