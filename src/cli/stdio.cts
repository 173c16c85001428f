/**
 * stdout and stderr for the binary, written with write(2) on the descriptor when it is a pipe,
 * socket or file. Node's process.stdout on a pipe (cont-init output, `| cat`, a supervisor's
 * logger) loads net and the stream modules and sets up a libuv pipe handle: ~6 ms of a
 * 10-profile run that prints a dozen lines. Node writes to pipes and files synchronously anyway,
 * so the bytes and their order are the same. A terminal or other character device keeps the
 * Node stream (it knows about TTYs). CommonJS, like main.cts, which creates them.
 */
import * as fs from 'node:fs';

/** What the CLI writes to: a line sink and whether it is a terminal. */
export interface OutputSink {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
}

type Mode = 'direct' | 'stream' | 'closed';

/**
 * A sink for `fd` that writes directly while it can and hands over to `stream()` (created only
 * then) when the descriptor is a terminal or device, or when a non-blocking pipe is full.
 */
export function directSink(fd: number, stream: () => NodeJS.WritableStream & { isTTY?: boolean }): OutputSink {
  let mode: Mode;
  try {
    const st = fs.fstatSync(fd);
    mode = st.isFIFO() || st.isFile() || st.isSocket() ? 'direct' : 'stream';
  } catch {
    mode = 'stream'; // closed or odd: let Node's stream decide what to do with it
  }
  return {
    get isTTY(): boolean {
      return mode === 'stream' && stream().isTTY === true;
    },
    write(chunk: string): boolean {
      if (mode === 'stream') return stream().write(chunk);
      if (mode === 'closed') return true;
      const bytes = Buffer.from(chunk, 'utf8');
      let offset = 0;
      while (offset < bytes.length) {
        try {
          offset += fs.writeSync(fd, bytes, offset);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EINTR') continue;
          if (code === 'EAGAIN') {
            // Someone made the pipe non-blocking and it is full: Node's stream waits for it.
            mode = 'stream';
            return stream().write(bytes.subarray(offset));
          }
          if (code === 'EPIPE') {
            // The reader went away (`| head`): the rest of the output has nowhere to go.
            mode = 'closed';
            return true;
          }
          throw err;
        }
      }
      return true;
    },
  };
}
