/**
 * The boot-time stale-file sweep: `gateway.pid` and `processes.json` belong to the previous
 * container's PID namespace and are deleted in the root and every valid profile (S06, S33).
 */
import { CwdCursor, type Dir, closeDir, describeErrno, openDirAt, unlinkAt } from '../safe-fs/index.js';

const STALE_FILES = ['gateway.pid', 'processes.json'] as const;

/** Deletes stale runtime files (never through a symlink); returns one warning per failure. */
export function sweepStaleFiles(home: Dir, profiles: readonly string[]): string[] {
  const warnings: string[] = [];
  const sweep = (dir: Dir): void => {
    for (const name of STALE_FILES) {
      try {
        unlinkAt(dir, name);
      } catch (err) {
        warnings.push(`could not remove stale ${dir.path}/${name}: ${describeErrno(err)}`);
      }
    }
  };
  sweep(home);
  if (profiles.length === 0) return warnings;
  let root: Dir | undefined;
  const cursor = new CwdCursor();
  try {
    root = openDirAt(home, 'profiles');
    for (const name of profiles) {
      let dir: Dir | undefined;
      try {
        dir = openDirAt(root, name);
        sweep(cursor.enter(dir)); // the entered value is `dir`: closed below, once
      } catch (err) {
        warnings.push(`could not sweep ${root.path}/${name}: ${describeErrno(err)}`);
      } finally {
        closeDir(dir);
      }
    }
  } catch (err) {
    warnings.push(`could not sweep profiles: ${describeErrno(err)}`);
  } finally {
    cursor.close();
    closeDir(root);
  }
  return warnings;
}
