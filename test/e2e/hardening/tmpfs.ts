/** Private tmpfs mounts for the hardening tests (root only): tiny ones for ENOSPC, fast ones for crash trials. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { tempDir } from '../../helpers/tree.js';

/** Mounts a private tmpfs on a fresh directory (root only); undo with {@link unmountTmpfs}. */
export async function mountTmpfs(prefix: string, size: string): Promise<string> {
  const dir = await tempDir(`rg-hard-${prefix}-`);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  return dir;
}

/** Unmounts a tmpfs from {@link mountTmpfs} (lazily if still busy) and removes its mount point. */
export function unmountTmpfs(dir: string | undefined): void {
  if (dir === undefined) return;
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
  fs.rmdirSync(dir);
}
