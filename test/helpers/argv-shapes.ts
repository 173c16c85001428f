/** Container argv shapes of the reference (S44, S45), shared by the unit tests of desired/host.ts and observe/host.ts and the CLI role tests. */

export const WRAPPER = '/opt/hermes/docker/main-wrapper.sh';
export const RC_INIT = ['/bin/sh', '-e', '/run/s6/basedir/scripts/rc.init', 'top'];

/** Every dashboard shape of reference S45, plus the other prefixes S44 strips. */
export const DASHBOARD_SHAPES: readonly (readonly string[])[] = [
  ['dashboard'],
  ['dashboard', '--host', '0.0.0.0'],
  ['/init', WRAPPER, 'dashboard'],
  ['/init', WRAPPER, 'hermes', 'dashboard'],
  [...RC_INIT, WRAPPER, 'dashboard', '--host', '0.0.0.0', '--port', '9119'],
  ['hermes', 'dashboard'],
  ['/usr/local/bin/hermes', 'dashboard'],
  ['/init', 'dashboard'],
  ['/opt/hermes/docker/entrypoint-dispatch.sh', 'dashboard'],
  ['/init', '/opt/hermes/docker/entrypoint-dispatch.sh', 'hermes', 'dashboard'],
];
