/**
 * Reading what a watcher left behind, for `status` and for a second `watch` that is refused: its
 * status file (never through a symlink, never blocking on a FIFO, never more than a cap) and
 * whether the pid it names is still that watcher.
 */
import fs from 'node:fs';
import { decodeUtf8 } from '../model/text.js';
import { readFilePath } from '../safe-fs/index.js';

/** Largest status file read: a watcher over 10,000 profiles writes a few MB. */
const STATUS_FILE_CAP = 64 * 1024 * 1024;

/** The status file's text, or why there is none to read. */
export type StatusText =
  | { readonly kind: 'missing' }
  | { readonly kind: 'unreadable'; readonly reason: string }
  | { readonly kind: 'text'; readonly text: string };

/** Reads the status file at `file`. */
export function readStatusText(file: string): StatusText {
  const read = readFilePath(file, STATUS_FILE_CAP);
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'refused') return { kind: 'unreadable', reason: read.reason };
  const text = decodeUtf8(read.bytes);
  return text === undefined ? { kind: 'unreadable', reason: 'is not valid UTF-8' } : { kind: 'text', text };
}

/**
 * Whether the watcher that wrote the file still runs: its pid is alive, and the process that has
 * it now did not start after the watcher did (a killed watcher's pid may be someone else's now).
 */
export function isWatcherRunning(pid: number, startedAt: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const started = processStartMs(pid);
  // Seconds of slack: boot time is known to the second, and the clock may have been adjusted.
  return started === undefined || started <= Date.parse(startedAt) + REUSE_SLACK_MS;
}

const REUSE_SLACK_MS = 5000;

/** When `pid` started (ms since the epoch), from /proc; undefined when that cannot be read. */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, starttime, in clock ticks (USER_HZ, 100 on Linux) since boot; the name in (…) may hold spaces.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(ticks) && Number.isFinite(btime) ? btime * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}
