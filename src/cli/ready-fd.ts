/**
 * Checks `--ready-fd` before `watch` starts: the number must be a descriptor open for writing
 * that this process inherited (s6-supervise passes the write end of a pipe, named by the slot's
 * `notification-fd`). Node opens descriptors of its own at low numbers: libuv's epoll and eventfd
 * (not pipes, files or sockets) and its signal pipes (both ends open here, where s6 keeps the read
 * end of its pipe). Writing the readiness newline into one of those fails with EINVAL or, worse,
 * corrupts it, so each of them is refused.
 */
import fs from 'node:fs';
import { ArgumentError } from './args.js';

const O_ACCMODE = 0o3;
const O_RDONLY = 0o0;

/** Throws an ArgumentError (exit 100) unless `fd` is an inherited descriptor open for writing. */
export function checkReadyFd(fd: number): void {
  const why = readyFdProblem(fd);
  if (why !== undefined) {
    throw new ArgumentError(
      `watch: --ready-fd ${fd} is not a descriptor s6 opened for writing (${why}); use the number in the service's notification-fd file`,
      'watch',
    );
  }
}

function readyFdProblem(fd: number): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch {
    return 'it is not open';
  }
  if (st.isDirectory()) return 'it is a directory';
  // An anonymous inode (no file type): libuv's epoll or eventfd, so nothing was passed at that number.
  if ((st.mode & fs.constants.S_IFMT) === 0)
    return "it is one of Node's own descriptors (epoll or eventfd): nothing was passed at that number";
  if (!(st.isFIFO() || st.isSocket() || st.isFile() || st.isCharacterDevice())) return 'it is not a pipe, socket, file or terminal';
  let flags: number;
  try {
    // /proc/self/fdinfo: the only place Node can read a descriptor's access mode from.
    flags = flagsOf(fd);
  } catch {
    return undefined; // no /proc: the type check above is all we can do
  }
  if (Number.isNaN(flags)) return undefined;
  if (isReadOnly(flags)) return 'it is open for reading only';
  if (st.isFIFO() && readEndIsHere(fd, st)) return "it is one of Node's own pipes";
  return undefined;
}

/** Whether access-mode flags say read-only (NaN, unknown, does not). */
function isReadOnly(flags: number): boolean {
  return !Number.isNaN(flags) && (flags & O_ACCMODE) === O_RDONLY;
}

/** The access-mode flags of a descriptor, from /proc/self/fdinfo; NaN when unknown. */
function flagsOf(fd: number): number {
  const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  return Number.parseInt(/^flags:\s*([0-7]+)$/m.exec(info)?.[1] ?? '', 8);
}

/**
 * Whether this process also holds the pipe's read end: then the pipe is its own (libuv's signal
 * pipe, say), not one s6 reads. Two write ends (stdout and stderr into one pipe) are not that.
 */
function readEndIsHere(fd: number, pipe: fs.Stats): boolean {
  for (const name of fs.readdirSync('/proc/self/fd')) {
    const other = Number(name);
    if (other === fd) continue;
    try {
      const st = fs.fstatSync(other);
      if (st.isFIFO() && st.dev === pipe.dev && st.ino === pipe.ino && isReadOnly(flagsOf(other))) return true;
    } catch {
      // closed meanwhile (readdir's own descriptor): not a pipe end
    }
  }
  return false;
}
