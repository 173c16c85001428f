/**
 * A temp scandir for actuate unit tests: one slot `gateway-a` with a run script, opened as the
 * Dir the actuate functions take; everything is removed at teardown.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { type Dir, closeDir, openRoot } from '../../../src/safe-fs/index.js';

/** The slot every actuate test works on. */
export const SLOT = 'gateway-a';

/** A temp scandir with `gateway-a/run`, and its Dir. */
export interface Scandir {
  readonly root: string;
  readonly slot: string;
  readonly dir: Dir;
}

/** Creates the scandir; `runContent` is the slot's run script. */
export function scandirWithSlot(t: ExecutionContext, runContent = '#!/bin/sh\nexec old\n'): Scandir {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-actuate-'));
  const slot = path.join(root, SLOT);
  fs.mkdirSync(slot, { mode: 0o755 });
  fs.writeFileSync(path.join(slot, 'run'), runContent, { mode: 0o755 });
  const dir = openRoot(root);
  t.teardown(() => {
    closeDir(dir);
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root, slot, dir };
}

/** Permission bits of a path (lstat). */
export function modeOf(file: string): number {
  return fs.lstatSync(file).mode & 0o7777;
}
