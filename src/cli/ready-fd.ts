/**
 * Checks `--ready-fd` before `watch` starts: the number must be a descriptor this process
 * inherited open for writing (s6-supervise passes the pipe named by `notification-fd`). Node opens
 * descriptors of its own (libuv's epoll, eventfd and signal pipes, all close-on-exec); writing
 * the readiness newline into one of those fails with EINVAL or, worse, corrupts it.
 */
import fs from 'node:fs';
import { ArgumentError } from './args.js';

const O_ACCMODE = 0o3;
const O_RDONLY = 0o0;
const O_CLOEXEC = 0o2000000;

/** Throws an ArgumentError (exit 100) unless `fd` is an inherited descriptor open for writing. */
export function checkReadyFd(fd: number): void {
  const why = readyFdProblem(fd);
  if (why !== undefined) {
    throw new ArgumentError(`--ready-fd ${fd} is not a descriptor s6 opened for writing (${why}); use the number in the service's notification-fd file`, 'watch');
  }
}

function readyFdProblem(fd: number): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch {
    return 'it is not open';
  }
  if (!(st.isFIFO() || st.isSocket() || st.isFile() || st.isCharacterDevice())) return 'it is not a pipe, socket, file or terminal';
  let flags: number;
  try {
    const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    flags = Number.parseInt(/^flags:\s*([0-7]+)$/m.exec(info)?.[1] ?? '', 8);
  } catch {
    return undefined; // no /proc: the type check above is all we can do
  }
  if (Number.isNaN(flags)) return undefined;
  if ((flags & O_ACCMODE) === O_RDONLY) return 'it is open for reading only';
  if ((flags & O_CLOEXEC) !== 0) return 'it belongs to this process, not to its parent';
  return undefined;
}
