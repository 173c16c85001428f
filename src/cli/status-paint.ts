/**
 * The colours of the `status` table on a terminal (TableContext.colour, decided by useColour): LIVE
 * by its word, the drift conditions in NOTE, a warning's label. Nothing else, so a table read
 * without colour says the same.
 */
import { type Colour, painted } from './output.js';

/** How the table is coloured: the LIVE cell by its word, drift conditions in notes, a warning's label. */
export interface Painter {
  /** A padded LIVE cell: its text painted, the padding left as it is (widths count plain text). */
  readonly live: (cell: string) => string;
  readonly note: (line: string) => string;
  readonly warning: (line: string) => string;
}

/** LIVE's words by colour: running green, failed red, changing yellow; stopped, down and `-` plain. */
const LIVE_COLOUR: Readonly<Record<string, Colour>> = {
  up: 'green',
  failed: 'red',
  starting: 'yellow',
  stopping: 'yellow',
  finishing: 'yellow',
  unsupervised: 'yellow',
};

const DRIFT_WORDS = /\b(IntentRunningButDown|CrashLooping|IntentStoppedButUp|LoggerDown)\b/g;

export function painter(colour: boolean): Painter {
  if (!colour) return { live: (c) => c, note: (l) => l, warning: (l) => l };
  return {
    live: (cell) => {
      const text = cell.trimEnd();
      const c = LIVE_COLOUR[text.split(' ')[0] ?? ''];
      return c === undefined ? cell : `${painted(c, text)}${cell.slice(text.length)}`;
    },
    note: (line) => line.replace(DRIFT_WORDS, (word) => painted('red', word)),
    warning: (line) => (line.startsWith('warning:') ? `${painted('yellow', 'warning:')}${line.slice('warning:'.length)}` : line),
  };
}
