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

test('the write end of a pipe whose read end this process holds is refused', async (t) => {
  const dir = await tempDir('rg-ready-fd-');
  const fifo = path.join(dir, 'pipe');
  makeFifo(fifo);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  t.teardown(async () => {
    fs.closeSync(writer);
    fs.closeSync(reader);
    await removeTree(dir);
  });
  t.true(refusal(t, writer).includes("(it is one of Node's own pipes)"));
});

test('a pipe whose write end this process holds twice (stdout and stderr into one pipe) is accepted', async (t) => {
  const dir = await tempDir('rg-ready-fd-');
  const fifo = path.join(dir, 'pipe');
  makeFifo(fifo);
  // The read end is held only while the two write ends are opened, then given up: as if s6 held it.
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  const second = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  fs.closeSync(reader);
  t.teardown(async () => {
    fs.closeSync(second);
    fs.closeSync(writer);
    await removeTree(dir);
  });
  t.notThrows(() => checkReadyFd(writer));
});

test('a descriptor that is not open is refused, with what to use instead', (t) => {
  t.is(
    refusal(t, 1000),
    "--ready-fd 1000 is not a descriptor s6 opened for writing (it is not open); use the number in the service's notification-fd file",
  );
});

test('a descriptor open for reading only is refused', async (t) => {
  t.true(refusal(t, await opened(t, 'r')).includes('(it is open for reading only)'));
});

test('a directory descriptor is refused', async (t) => {
  t.true(refusal(t, await opened(t, 'r', true)).includes('(it is not a pipe, socket, file or terminal)'));
});
