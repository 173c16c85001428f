/**
 * Renders the files of a slot byte-for-byte as upstream's `container_boot.py` does, so slots written
 * by the Hermes CLI and by this tool coexist without churn. Pure: strings in, strings out.
 */
import type { FileSpec, Settings } from '../model.js';
import { GATEWAY_LOGS_DIR, OWNERSHIP_FILE, ROOT_PROFILE } from '../model/constants.js';

export { OWNERSHIP_FILE, MANAGED_FILES, RUNTIME_FILES, ROOT_PROFILE } from '../model/constants.js';

export type RenderSettings = Pick<Settings, 'shebang' | 'home' | 'user' | 'gatewayCommand'>;

/** Renders `run`: the root profile gets no `-p` flag (upstream S07). */
export function renderRun(profile: string, s: RenderSettings): string {
  const args = profile === ROOT_PROFILE ? 'gateway run --replace' : `-p ${profile} gateway run --replace`;
  return [
    s.shebang,
    '# shellcheck shell=sh',
    'set -e',
    `export HOME=${s.home}`,
    `cd ${s.home}`,
    'export HERMES_S6_SUPERVISED_CHILD=1',
    'export HERMES_SUPERVISED_CHILD=1',
    `[ "$(id -u)" = 0 ] || exec ${s.gatewayCommand} ${args}`,
    `exec s6-setuidgid ${s.user} ${s.gatewayCommand} ${args}`,
    '',
  ].join('\n');
}

/** Renders `finish`: exits 78 (EX_CONFIG) and 0 are permanent (#51228, #76435). */
export function renderFinish(s: RenderSettings): string {
  return [
    s.shebang,
    '# shellcheck shell=sh',
    '# $1 = exit code from the run script.',
    "# Exit 78 (EX_CONFIG) = fatal config error \u2014 don't restart.",
    "# Exit 0 (clean stop) = intentional stop \u2014 don't restart.",
    'if [ "$1" = "78" ]; then',
    '  exit 125',
    'fi',
    'if [ "$1" = "0" ]; then',
    '  exit 125',
    'fi',
    'exit 0',
    '',
  ].join('\n');
}

/** Renders `log/run`; `$HERMES_HOME` is expanded at run time, never baked in. */
export function renderLogRun(profile: string, s: RenderSettings): string {
  return [
    s.shebang,
    '# shellcheck shell=sh',
    `: "\${HERMES_HOME:=${s.home}}"`,
    `log_dir="$HERMES_HOME/${GATEWAY_LOGS_DIR}/${profile}"`,
    'if [ "$(id -u)" = 0 ]; then',
    `  s6-setuidgid ${s.user} mkdir -p "$log_dir"`,
    `  s6-setuidgid ${s.user} rm -f "$log_dir/lock"`,
    'else',
    '  mkdir -p "$log_dir"',
    '  rm -f "$log_dir/lock"',
    'fi',
    '[ "$(id -u)" = 0 ] || exec s6-log 1 n10 s1000000 T "$log_dir"',
    `exec s6-setuidgid ${s.user} s6-log 1 n10 s1000000 T "$log_dir"`,
    '',
  ].join('\n');
}

/** Renders the ownership record; deterministic so a quiet pass never rewrites it. */
export function renderOwnership(service: string, profile: string): string {
  return `${JSON.stringify({ formatVersion: '1', managedBy: 'reconcile-gateways', service, profile })}\n`;
}

/** All managed files of one slot with their explicit modes. */
export function renderSlotFiles(service: string, profile: string, s: RenderSettings): FileSpec[] {
  return slotRenderer(s)(service, profile);
}

/**
 * `renderSlotFiles` for many slots with the same settings: `type` and `finish` do not depend on
 * the profile, so every slot shares one spec of each (at 10,000 profiles a copy of `finish` per
 * slot, a two-byte string because of its em dash, was ~6 MB of heap).
 */
function slotRenderer(s: RenderSettings): (service: string, profile: string) => FileSpec[] {
  const type: FileSpec = { path: 'type', content: 'longrun\n', mode: 0o644 };
  const finish: FileSpec = { path: 'finish', content: renderFinish(s), mode: 0o755 };
  return (service, profile) => [
    type,
    { path: 'run', content: renderRun(profile, s), mode: 0o755 },
    finish,
    { path: 'log/run', content: renderLogRun(profile, s), mode: 0o755 },
    { path: OWNERSHIP_FILE, content: renderOwnership(service, profile), mode: 0o644 },
  ];
}
