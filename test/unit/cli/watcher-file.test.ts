/**
 * src/cli/watcher-file.ts: what `status` and a refused second `watch` read of a watcher. The
 * status file is read never through a symlink, never blocking on a FIFO and never past its cap;
 * anything else at its path is "unreadable" with a reason, never an exception. A watcher counts as
 * running only while its pid is alive and held by a process that did not start after it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { isWatcherRunning, readStatusText } from '../../../src/cli/watcher-file.js';
import { makeFifo } from '../../helpers/fifo.js';
import { needsRoot } from '../../helpers/needs.js';
import { tempRoot } from '../support.js';

/** Larger than any pid Linux hands out (pid_max is at most 2^22). */
const NO_SUCH_PID = 2 ** 22 + 1;
const STATUS_FILE_CAP = 64 * 1024 * 1024;

/** The compiled src/ tree, for a child process that imports it. */
const COMPILED_SRC = fileURLToPath(new URL('../../../src', import.meta.url));

/** Starts `sleep` under the name `name` (its /proc comm), killed and reaped at teardown. */
function sleeper(t: ExecutionContext, dir: string, name: string): ChildProcess & { pid: number } {
  const link = path.join(dir, name);
  fs.symlinkSync('/bin/sleep', link);
  const child = spawn(link, ['1000'], { stdio: 'ignore' });
  if (child.pid === undefined) throw new Error('sleep did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  return child as ChildProcess & { pid: number };
}

/** Resolves once `child` has exited and been reaped (its pid is free again). */
function reaped(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

test('no file at the path reads as missing', (t) => {
  const { root } = tempRoot(t);
  t.deepEqual(readStatusText(path.join(root, 'status.json')), { kind: 'missing' });
  t.deepEqual(readStatusText(path.join(root, 'no-dir', 'status.json')), { kind: 'missing' });
});

test('a regular file reads as its text, a byte-order mark dropped', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  fs.writeFileSync(file, '{"pid": 7}\n');
  t.deepEqual(readStatusText(file), { kind: 'text', text: '{"pid": 7}\n' });
  fs.writeFileSync(file, '\ufeff{"pid": 7}');
  t.deepEqual(readStatusText(file), { kind: 'text', text: '{"pid": 7}' });
});

test('a symlink at the path is unreadable, even to a valid status file', (t) => {
  const { root } = tempRoot(t);
  fs.writeFileSync(path.join(root, 'real.json'), '{}');
  const file = path.join(root, 'status.json');
  fs.symlinkSync(path.join(root, 'real.json'), file);
  t.deepEqual(readStatusText(file), { kind: 'unreadable', reason: 'is a symlink' });
});

test('a FIFO at the path is unreadable at once, never waited on', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  makeFifo(file);
  t.deepEqual(readStatusText(file), { kind: 'unreadable', reason: 'is a FIFO' });
});

test('a directory or a socket at the path is unreadable, saying which', async (t) => {
  const { root } = tempRoot(t);
  const dir = path.join(root, 'dir.json');
  fs.mkdirSync(dir);
  t.deepEqual(readStatusText(dir), { kind: 'unreadable', reason: 'is a directory' });
  const socket = path.join(root, 'socket.json');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.deepEqual(readStatusText(socket), { kind: 'unreadable', reason: 'is a socket or device' });
});

test('bytes that are not UTF-8 are unreadable, not decoded with replacement characters', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  fs.writeFileSync(file, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]));
  t.deepEqual(readStatusText(file), { kind: 'unreadable', reason: 'is not valid UTF-8' });
});

test('a file over 64 MiB is unreadable, naming its size; one of exactly 64 MiB is read', (t) => {
  const { root } = tempRoot(t);
  const file = path.join(root, 'status.json');
  // Sparse: no 64 MiB is written to disk.
  fs.writeFileSync(file, '');
  fs.truncateSync(file, STATUS_FILE_CAP + 1);
  t.deepEqual(readStatusText(file), { kind: 'unreadable', reason: `is larger than ${STATUS_FILE_CAP} bytes (${STATUS_FILE_CAP + 1})` });
  fs.truncateSync(file, STATUS_FILE_CAP);
  const read = readStatusText(file);
  t.is(read.kind, 'text');
  t.is(read.kind === 'text' ? read.text.length : 0, STATUS_FILE_CAP);
});

test('a watcher is running while its pid is alive and its process started before the recorded start', (t) => {
  t.true(isWatcherRunning(process.pid, new Date().toISOString()));
});

test('a pid no process holds is no running watcher', (t) => {
  t.false(isWatcherRunning(NO_SUCH_PID, new Date().toISOString()));
});

test('a pid held by a process that started after the watcher did is a reused pid: no running watcher', (t) => {
  const { root } = tempRoot(t);
  const recorded = new Date(Date.now() - 3_600_000).toISOString(); // a watcher that started an hour ago
  const child = sleeper(t, root, 'sleep');
  t.false(isWatcherRunning(child.pid, recorded));
  t.true(isWatcherRunning(child.pid, new Date(Date.now() + 3_600_000).toISOString()));
});

test('the start time is read right for a process whose name holds spaces and parentheses', (t) => {
  const { root } = tempRoot(t);
  const child = sleeper(t, root, 'a) b (c) d e');
  t.regex(fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8'), /^\d+ \(a\) b \(c\) d e\) /);
  t.false(isWatcherRunning(child.pid, new Date(Date.now() - 3_600_000).toISOString()));
  t.true(isWatcherRunning(child.pid, new Date(Date.now() + 3_600_000).toISOString()));
});

test('a watcher whose process has exited is no longer running', async (t) => {
  const { root } = tempRoot(t);
  const child = sleeper(t, root, 'sleep');
  const startedAt = new Date(Date.now() + 3_600_000).toISOString();
  t.true(isWatcherRunning(child.pid, startedAt));
  child.kill('SIGKILL');
  await reaped(child);
  t.false(isWatcherRunning(child.pid, startedAt));
});

needsRoot(test)("run as another user, root's live watcher still counts as running (EPERM is not 'gone')", async (t) => {
  const { root } = tempRoot(t);
  fs.chmodSync(root, 0o755);
  // The compiled modules, where the other user can read them (a clone under root's 0700 home is not).
  const src = path.join(root, 'src');
  fs.cpSync(COMPILED_SRC, src, { recursive: true });
  const script = `
    const { isWatcherRunning } = await import(${JSON.stringify(path.join(src, 'cli', 'watcher-file.js'))});
    const [pid, early, late] = process.argv.slice(1);
    console.log(JSON.stringify([isWatcherRunning(Number(pid), late), isWatcherRunning(Number(pid), early)]));`;
  const early = new Date(Date.now() - 3_600_000).toISOString();
  const late = new Date(Date.now() + 3_600_000).toISOString();
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, String(process.pid), early, late], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: root,
      uid: 65534,
      gid: 65534,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  t.is(r.code, 0, r.stderr);
  // Alive (signalling it is not permitted), and an hour-old start still tells a reused pid apart.
  t.deepEqual(JSON.parse(r.stdout), [true, false]);
});
