/**
 * The binary writes stdout/stderr with write(2) when they are pipes, sockets or files
 * (src/cli/stdio.cts) instead of building Node's streams. Nothing may be lost or reordered: a
 * slow reader gets every byte, a full non-blocking pipe hands the rest to Node's stream, a reader
 * that went away does not turn a good run into a failure, and terminals keep Node's stream.
 */
import test from 'ava';
import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { directSink } from '../../src/cli/stdio.cjs';
import { MAIN, bootArgs, sandbox } from '../helpers/cli.js';

const execFileAsync = promisify(execFile);
import { makeHermesHome, removeTree, tempDir } from '../helpers/tree.js';

/** A stand-in for Node's stream that records what it was given. */
function recordingStream(): { stream: NodeJS.WritableStream & { isTTY?: boolean }; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const stream = {
    isTTY: true,
    write(chunk: string | Uint8Array): boolean {
      chunks.push(Buffer.from(chunk));
      return true;
    },
  } as unknown as NodeJS.WritableStream & { isTTY?: boolean };
  return { stream, chunks };
}

test('a full non-blocking pipe: the bytes written so far plus those handed to the stream are the whole output, in order', async (t) => {
  const dir = await tempDir('rg-stdio-');
  t.teardown(() => removeTree(dir));
  const fifo = path.join(dir, 'pipe');
  spawnSync('mkfifo', [fifo]);
  const C = fs.constants;
  const reader = fs.openSync(fifo, C.O_RDONLY | C.O_NONBLOCK);
  const writer = fs.openSync(fifo, C.O_WRONLY | C.O_NONBLOCK);
  t.teardown(() => {
    fs.closeSync(reader);
    fs.closeSync(writer);
  });
  const rec = recordingStream();
  let streamCalls = 0;
  const sink = directSink(writer, () => {
    streamCalls += 1;
    return rec.stream;
  });
  t.false(sink.isTTY, 'a pipe is not a terminal, and asking must not build the stream');
  t.is(streamCalls, 0);
  const whole = Buffer.alloc(300 * 1024);
  for (let i = 0; i < whole.length; i += 1) whole[i] = 97 + (i % 26);
  const text = whole.toString('latin1');
  sink.write(text.slice(0, 1000));
  sink.write(text.slice(1000)); // fills the pipe (64 KiB): EAGAIN, the rest goes to the stream
  sink.write('tail'); // and so does everything after, so order is kept
  const piped: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(reader, buf);
    } catch {
      break; // EAGAIN: drained
    }
    if (n === 0) break;
    piped.push(Buffer.from(buf.subarray(0, n)));
  }
  const got = Buffer.concat([...piped, ...rec.chunks]).toString('latin1');
  t.true(Buffer.concat(piped).length > 0 && Buffer.concat(piped).length < whole.length);
  t.is(got, `${text}tail`);
});

test('a terminal or other character device keeps Node\'s stream', (t) => {
  const fd = fs.openSync('/dev/null', 'w');
  t.teardown(() => fs.closeSync(fd));
  const rec = recordingStream();
  const sink = directSink(fd, () => rec.stream);
  sink.write('hello\n');
  t.is(Buffer.concat(rec.chunks).toString(), 'hello\n');
  t.true(sink.isTTY, 'the stream answers isTTY');
});

test('a slow reader on a pipe gets every line of a large report, and the run succeeds', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  const profiles: Record<string, { state: object }> = {};
  for (let i = 0; i < 900; i += 1) profiles[`profile-${String(i).padStart(4, '0')}`] = { state: { desired_state: i % 2 === 0 ? 'running' : 'stopped' } };
  await makeHermesHome(box.home, profiles, { desired_state: 'running' });
  // A real pipe (64 KiB) whose reader starts late: the tool blocks in write(2) meanwhile.
  const status = path.join(box.root, 'status');
  const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const cli = [process.execPath, MAIN, ...bootArgs(box.home, box.scandir)].map(q).join(' ');
  const script = `{ ${cli}; echo $? > ${q(status)}; } | { sleep 1; cat; }`;
  const r = await execFileAsync('sh', ['-c', script], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TZ: 'UTC' }, maxBuffer: 64 * 1024 * 1024 });
  t.is(fs.readFileSync(status, 'utf8').trim(), '0', r.stderr);
  t.true(r.stdout.length > 64 * 1024, `report of ${r.stdout.length} bytes`);
  const lines = r.stdout.trimEnd().split('\n');
  t.is(lines.length, 1803, 'one line per profile (900 + root), one per create, and the summary');
  t.true(lines.slice(0, 901).every((l) => /^reconcile: profile=\S+ prior_state=\S+ action=\S+ prior_exit=\S+$/.test(l)));
  t.true(lines.slice(901, -1).every((l) => /^reconcile: applied service=\S+ kind=create reason="slot missing"$/.test(l)));
  t.regex(lines.at(-1) ?? '', /^reconcile: summary profiles=901 create=901 .* exit=0$/);
});

test('a reader that went away does not make a good run fail', async (t) => {
  const box = await sandbox();
  t.teardown(() => box.cleanup());
  await makeHermesHome(box.home, { alice: { state: { desired_state: 'running' } } }, { desired_state: 'running' });
  const child = spawn(process.execPath, [MAIN, ...bootArgs(box.home, box.scandir)], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TZ: 'UTC' } });
  child.stdout.destroy(); // like `| head -0`: the report meets EPIPE
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  t.is(code, 0, err);
  t.is(err, '');
  t.true(fs.existsSync(path.join(box.scandir, 'gateway-alice', 'run')), 'the pass itself was applied');
});
