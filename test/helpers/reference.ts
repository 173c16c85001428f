/**
 * The reference bytes of a slot rendered with default settings, copied from
 * upstream-behaviour.md §0.1 (the `—` is U+2014), for unit and integration tests.
 */

/** `type`. */
export const TYPE = 'longrun\n';

/** `run` of the named profile `coder`. */
export const RUN_CODER = `#!/command/with-contenv sh
# shellcheck shell=sh
set -e
export HOME=/opt/data
cd /opt/data
export HERMES_S6_SUPERVISED_CHILD=1
export HERMES_SUPERVISED_CHILD=1
[ "$(id -u)" = 0 ] || exec hermes -p coder gateway run --replace
exec s6-setuidgid hermes hermes -p coder gateway run --replace
`;

/** `run` of the root profile (no `-p` flag). */
export const RUN_DEFAULT = `#!/command/with-contenv sh
# shellcheck shell=sh
set -e
export HOME=/opt/data
cd /opt/data
export HERMES_S6_SUPERVISED_CHILD=1
export HERMES_SUPERVISED_CHILD=1
[ "$(id -u)" = 0 ] || exec hermes gateway run --replace
exec s6-setuidgid hermes hermes gateway run --replace
`;

/** `finish`, the same for every profile. */
export const FINISH = `#!/command/with-contenv sh
# shellcheck shell=sh
# $1 = exit code from the run script.
# Exit 78 (EX_CONFIG) = fatal config error — don't restart.
# Exit 0 (clean stop) = intentional stop — don't restart.
if [ "$1" = "78" ]; then
  exit 125
fi
if [ "$1" = "0" ]; then
  exit 125
fi
exit 0
`;

/** `log/run` of `coder`. */
export const LOG_RUN_CODER = `#!/command/with-contenv sh
# shellcheck shell=sh
: "\${HERMES_HOME:=/opt/data}"
log_dir="$HERMES_HOME/logs/gateways/coder"
if [ "$(id -u)" = 0 ]; then
  s6-setuidgid hermes mkdir -p "$log_dir"
  s6-setuidgid hermes rm -f "$log_dir/lock"
else
  mkdir -p "$log_dir"
  rm -f "$log_dir/lock"
fi
[ "$(id -u)" = 0 ] || exec s6-log 1 n10 s1000000 T "$log_dir"
exec s6-setuidgid hermes s6-log 1 n10 s1000000 T "$log_dir"
`;

/** `log/run` of the root profile. */
export const LOG_RUN_DEFAULT = LOG_RUN_CODER.replace('logs/gateways/coder', 'logs/gateways/default');
