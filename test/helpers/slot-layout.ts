/**
 * The expected on-disk layout of a slot (reference §2.3/§2.6 and issue 2 "Actuation"), as
 * `<type> <octal mode> <uid>:<gid>` per slot-relative path, for whole-tree comparisons.
 */
import type { TreeSnapshot } from './tree.js';

/** One line per entry under `prefix/` of a snapshot: `type mode uid:gid`. */
export function layoutOf(snap: TreeSnapshot, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, e] of snap) {
    if (p === prefix || p.startsWith(`${prefix}/`))
      out[p === prefix ? '' : p.slice(prefix.length + 1)] = `${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid}`;
  }
  return out;
}

/**
 * The layout of a freshly created slot: scripts owned by `files`; the skeleton for the configured
 * `uid:gid` in `ids`, either root-owned with group access (`superviseOwner` root, the default:
 * what s6-svperms -g/-G/-E grants) or upstream's uid:gid-owned one (`user`).
 */
export function expectedLayout(down: boolean, ids: string, files = '0:0', model: 'root' | 'user' = 'root'): Record<string, string> {
  const gid = ids.split(':')[1] ?? '';
  const skeleton = model === 'root' ? `0:${gid}` : ids;
  const supervise = (dir: string): Record<string, string> =>
    model === 'root'
      ? { [`${dir}supervise`]: `dir 710 ${skeleton}`, [`${dir}supervise/control`]: `fifo 620 ${skeleton}` }
      : {
          [`${dir}supervise`]: `dir 755 ${skeleton}`,
          [`${dir}supervise/control`]: `fifo 660 ${skeleton}`,
          [`${dir}supervise/event`]: `dir 3730 ${skeleton}`,
        };
  return {
    '': `dir 755 ${files}`,
    '.reconcile-gateways.json': `file 644 ${files}`,
    ...(down ? { down: `file 644 ${files}` } : {}),
    event: `dir 3730 ${skeleton}`,
    finish: `file 755 ${files}`,
    log: `dir 755 ${files}`,
    'log/event': `dir 3730 ${skeleton}`,
    'log/run': `file 755 ${files}`,
    ...supervise('log/'),
    run: `file 755 ${files}`,
    ...supervise(''),
    type: `file 644 ${files}`,
  };
}
