import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { ArgumentError } from '../../../src/cli/args.js';
import { checkReadyFd } from '../../../src/cli/ready-fd.js';
import { makeFifo } from '../../helpers/fifo.js';
import { removeTree, tempDir } from '../../helpers/tree.js';

async function opened(t: import('ava').ExecutionContext, flags: string, isDir = false): Promise<number> {
  const dir = await tempDir('rg-ready-fd-');
  const file = path.join(dir, 'notify');
  if (!isDir) fs.writeFileSync(file, '');
  const fd = fs.openSync(isDir ? dir : file, flags);
  t.teardown(async () => {
    fs.closeSync(fd);
    await removeTree(dir);
  });
  return fd;
}

function refusal(t: import('ava').ExecutionContext, fd: number): string {
  const err = t.throws(() => checkReadyFd(fd), { instanceOf: ArgumentError });
  t.is(err?.command, 'watch');
  return err?.message ?? '';
}

test('a descriptor open for writing is accepted', async (t) => {
  const fd = await opened(t, 'a');
  t.notThrows(() => checkReadyFd(fd));
  const devNull = fs.openSync('/dev/null', 'w');
  t.teardown(() => fs.closeSync(devNull));
  t.notThrows(() => checkReadyFd(devNull));
});

/**
 * A FIFO opened by this process: its read end, then `writers` write ends (all closed at teardown).
 * With `keepReader` false the read end is given up once the writers are open, as if s6 held it.
 */
async function pipeEnds(t: import('ava').ExecutionContext, writers: number, keepReader: boolean): Promise<number[]> {
  const dir = await tempDir('rg-ready-fd-');
  const fifo = path.join(dir, 'pipe');
  makeFifo(fifo);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const ends = Array.from({ length: writers }, () => fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  if (!keepReader) fs.closeSync(reader);
  t.teardown(async () => {
    for (const fd of keepReader ? [...ends, reader] : ends) fs.closeSync(fd);
    await removeTree(dir);
  });
  return ends;
}

test('the write end of a pipe whose read end this process holds is refused', async (t) => {
  const [writer = -1] = await pipeEnds(t, 1, true);
  t.true(refusal(t, writer).includes("(it is one of Node's own pipes)"));
});

test('a pipe whose write end this process holds twice (stdout and stderr into one pipe) is accepted', async (t) => {
  const [writer = -1] = await pipeEnds(t, 2, false);
  t.notThrows(() => checkReadyFd(writer));
});

test('a descriptor that is not open is refused, with what to use instead', (t) => {
  t.is(
    refusal(t, 1000),
    "watch: --ready-fd 1000 is not a descriptor s6 opened for writing (it is not open); use the number in the service's notification-fd file",
  );
});

test('a descriptor open for reading only is refused', async (t) => {
  t.true(refusal(t, await opened(t, 'r')).includes('(it is open for reading only)'));
});

test('a directory descriptor is refused', async (t) => {
  t.true(refusal(t, await opened(t, 'r', true)).includes('(it is a directory)'));
});
