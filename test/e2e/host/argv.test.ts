import test, { type ExecutionContext } from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { detectContainerArgv, hermesIds, hostEnv } from '../../../src/observe/host.js';
import { isTruthy, nonGatewayCommand, stripContainerArgv, wantsLegacySeed } from '../../../src/desired/host.js';

const isDashboardArgv = (argv: readonly string[]): boolean => nonGatewayCommand(argv) === 'dashboard';
import { loadSettings } from '../../../src/cli/config.js';
import { removeTree, tempDir } from '../../helpers/tree.js';
import { DASHBOARD_SHAPES, RC_INIT, WRAPPER } from './argv-shapes.js';

/** Not dashboards (S45): including `gateway run -p dashboard`, whose profile is merely named so. */
const NOT_DASHBOARD: readonly (readonly string[])[] = [
  [],
  ['gateway', 'run'],
  ['/init', WRAPPER, 'gateway', 'run'],
  [...RC_INIT, WRAPPER, 'gateway', 'run'],
  ['chat'],
  ['gateway', 'run', '-p', 'dashboard'],
  ['/init', WRAPPER, 'gateway', 'run', '-p', 'dashboard'],
  ['-p', 'dashboard', 'gateway', 'run'],
  ['serve'],
  ['/init', WRAPPER],
  ['sh', '-c', 'dashboard'],
];

for (const argv of DASHBOARD_SHAPES) {
  test(`a dashboard container is recognised from argv ${JSON.stringify(argv)}`, (t) => {
    t.true(isDashboardArgv(argv));
    t.false(wantsLegacySeed(argv, {}), 'a dashboard is never a legacy gateway run');
  });
}

for (const argv of NOT_DASHBOARD) {
  test(`argv ${JSON.stringify(argv)} is not a dashboard container`, (t) => {
    t.false(isDashboardArgv(argv));
  });
}

test('prefix stripping drops through the wrapper, else a leading init, then the dispatcher, then hermes (S44)', (t) => {
  t.deepEqual(stripContainerArgv(['/init', WRAPPER, 'hermes', 'gateway', 'run']), ['gateway', 'run']);
  t.deepEqual(stripContainerArgv([...RC_INIT, WRAPPER, 'dashboard', '--host', 'x']), ['dashboard', '--host', 'x']);
  t.deepEqual(stripContainerArgv(['/init', '/x/entrypoint-dispatch.sh', '/usr/bin/hermes', 'chat']), ['chat']);
  t.deepEqual(stripContainerArgv(['/sbin/init', 'gateway', 'run']), ['gateway', 'run']);
  t.deepEqual(stripContainerArgv(['initial', 'gateway']), ['initial', 'gateway'], 'only a token whose basename is exactly init');
  t.deepEqual(stripContainerArgv(['hermes', 'hermes', 'chat']), ['hermes', 'chat'], 'hermes is dropped once');
  t.deepEqual(stripContainerArgv(['chat', WRAPPER, 'gateway', 'run']), ['gateway', 'run'], 'the wrapper may appear anywhere');
});

const LEGACY: readonly [readonly string[], NodeJS.ProcessEnv, boolean][] = [
  [['gateway', 'run'], {}, true],
  [['/init', WRAPPER, 'gateway', 'run'], {}, true],
  [[...RC_INIT, WRAPPER, 'gateway', 'run'], {}, true],
  [['hermes', 'gateway', 'run', '--replace'], {}, true],
  [['gateway', 'run', '-p', 'x'], {}, true],
  [['-p', 'x', 'gateway', 'run'], {}, false],
  [['gateway', 'run', '--no-supervise'], {}, false],
  [['/init', WRAPPER, 'gateway', 'run', '-v', '--no-supervise'], {}, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: '1' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'TRUE' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'Yes' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: 'on' }, false],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: '0' }, true],
  [['gateway', 'run'], { HERMES_GATEWAY_NO_SUPERVISE: '' }, true],
  [['gateway', 'start'], {}, false],
  [['gateway'], {}, false],
  [[], {}, false],
];

for (const [argv, env, expected] of LEGACY) {
  test(`legacy seed is ${expected ? 'wanted' : 'not wanted'} for ${JSON.stringify(argv)} env ${JSON.stringify(env)}`, (t) => {
    t.is(wantsLegacySeed(argv, hostEnv(env)), expected);
  });
}

test('truthiness is 1/true/yes/on in any case and nothing else', (t) => {
  for (const v of ['1', 'true', 'TRUE', 'True', 'yes', 'YES', 'on', 'On', ' on ']) t.true(isTruthy(v), v);
  for (const v of [undefined, '', '0', 'false', 'no', 'off', 'y', '2', 'enabled', 'truee']) t.false(isTruthy(v), String(v));
});

async function writeCmdline(proc: string, pid: string, argv: readonly string[] | null): Promise<void> {
  await mkdir(path.join(proc, pid), { recursive: true });
  if (argv !== null) await writeFile(path.join(proc, pid, 'cmdline'), argv.map((a) => `${a}\0`).join(''));
  await writeFile(path.join(proc, pid, 'status'), 'Uid:\t0\t0\t0\t0\n');
}

test('detection takes PID 1 when its argv mentions main-wrapper.sh', async (t) => {
  const proc = await tempDir('rg-proc-');
  t.teardown(() => removeTree(proc));
  await writeCmdline(proc, '1', ['/init', WRAPPER, 'gateway', 'run', '--name', 'with space']);
  await writeCmdline(proc, '7', [...RC_INIT, WRAPPER, 'dashboard']);
  t.deepEqual(detectContainerArgv(proc), ['/init', WRAPPER, 'gateway', 'run', '--name', 'with space']);
});

test('under s6-overlay v3 (PID 1 is s6-svscan) detection scans /proc and finds the rc.init process', async (t) => {
  const proc = await tempDir('rg-proc-');
  t.teardown(() => removeTree(proc));
  await writeCmdline(proc, '1', ['s6-svscan', '-d4', '--', '/run/service']);
  await writeCmdline(proc, '15', ['s6-supervise', 's6-linux-init-shutdownd']);
  await writeCmdline(proc, '40', null);
  await mkdir(path.join(proc, 'self'));
  await writeFile(path.join(proc, 'self', 'cmdline'), `${WRAPPER}\0`);
  await writeFile(path.join(proc, 'uptime'), '1 1\n');
  await writeCmdline(proc, '57', [...RC_INIT, WRAPPER, 'dashboard', '--host', '0.0.0.0']);
  await writeCmdline(proc, '300', ['/bin/sh', WRAPPER, 'gateway', 'run']);
  const argv = detectContainerArgv(proc);
  t.deepEqual(argv, [...RC_INIT, WRAPPER, 'dashboard', '--host', '0.0.0.0']);
  t.true(isDashboardArgv(argv));
});

test('detection prefers the lowest pid, in numeric (not lexical) order', async (t) => {
  const proc = await tempDir('rg-proc-');
  t.teardown(() => removeTree(proc));
  await writeCmdline(proc, '1', ['s6-svscan']);
  await writeCmdline(proc, '200', ['/bin/sh', WRAPPER, 'chat']);
  await writeCmdline(proc, '30', ['/bin/sh', WRAPPER, 'gateway', 'run']);
  t.deepEqual(detectContainerArgv(proc), ['/bin/sh', WRAPPER, 'gateway', 'run']);
});

test('detection returns an empty argv when no process mentions the wrapper, or /proc is unusable', async (t) => {
  const proc = await tempDir('rg-proc-');
  t.teardown(() => removeTree(proc));
  await writeCmdline(proc, '1', ['/sbin/docker-init', '--', 'sleep', 'infinity']);
  await writeCmdline(proc, '2', ['']);
  t.deepEqual(detectContainerArgv(proc), []);
  t.deepEqual(detectContainerArgv(path.join(proc, 'missing')), []);
});

async function writeEtc(t: ExecutionContext, files: Readonly<Record<string, string>>): Promise<string> {
  const etc = await tempDir('rg-etc-');
  t.teardown(() => removeTree(etc));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(etc, name), text);
  return etc;
}

test('hermes uid/gid come from the hermes entries of passwd and group', async (t) => {
  const etc = await writeEtc(t, {
    passwd: 'root:x:0:0:root:/root:/bin/sh\nhermesbot:x:1:1::/:/bin/sh\nhermes:x:1234:1235:Hermes:/opt/data:/bin/sh\n',
    group: 'root:x:0:\nhermes:x:2345:\n',
  });
  t.deepEqual(hermesIds(etc), { uid: 1234, gid: 2345 });
});

test('without a hermes group the gid is the primary group of the hermes user', async (t) => {
  const etc = await writeEtc(t, { passwd: 'hermes:x:1234:1235::/:/bin/sh\n', group: 'root:x:0:\n' });
  t.deepEqual(hermesIds(etc), { uid: 1234, gid: 1235 });
});

test('without hermes entries (or files) no ids are proposed, so 10000 stays the default', async (t) => {
  const etc = await writeEtc(t, { passwd: 'root:x:0:0:root:/root:/bin/sh\nhermes:x:notanumber:x::/:/bin/sh\n' });
  t.deepEqual(hermesIds(etc), {});
  t.deepEqual(hermesIds(path.join(etc, 'missing')), {});
  const settings = await loadSettings(undefined, hermesIds(etc));
  t.like(settings, { uid: 10000, gid: 10000 });
});

test('config keys win over the ids found in /etc, which win over 10000', async (t) => {
  const dir = await tempDir('rg-cfg-');
  t.teardown(() => removeTree(dir));
  const cfg = path.join(dir, 'c.json');
  await writeFile(cfg, JSON.stringify({ uid: 4242 }));
  t.like(await loadSettings(cfg, { uid: 1234, gid: 2345 }), { uid: 4242, gid: 2345 });
  t.like(await loadSettings(undefined, { uid: 1234, gid: 2345 }), { uid: 1234, gid: 2345 });
});
