import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadValidators } from '../../../src/cli/validate.js';
import { waitFor } from '../../helpers/s6.js';
import { type S6World, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { MAIN, runCli } from '../../helpers/cli.js';
import { freePort } from '../../helpers/watcher.js';
import { needsRoot, needsS6 } from '../../helpers/needs.js';

const execFileAsync = promisify(execFile);
const EXAMPLE = fileURLToPath(new URL('../../../../examples/s6/reconcile-gateways-watch/', import.meta.url));
const SERVICE = 'reconcile-gateways-watch';
test.after.always('stop s6 and remove temp dirs', removeS6Worlds);

/** Installs the example service dir into the scandir, s6-overlay's shebang swapped for /bin/sh. */
async function installExample(env: S6World): Promise<void> {
  const tmp = path.join(env.scandir, `.${SERVICE}.tmp`);
  await mkdir(tmp);
  for (const entry of await readdir(EXAMPLE, { withFileTypes: true })) {
    if (entry.isDirectory()) continue; // dependencies.d: s6-rc's, plain s6 ignores it
    const name = entry.name;
    const text = (await readFile(path.join(EXAMPLE, name), 'utf8')).replace(/^#!\/command\/with-contenv sh\n/, '#!/bin/sh\n');
    await writeFile(path.join(tmp, name), text);
    await chmod(path.join(tmp, name), name === 'run' || name === 'finish' ? 0o755 : 0o644);
  }
  await rename(tmp, path.join(env.scandir, SERVICE));
  await execFileAsync('s6-svscanctl', ['-a', env.scandir]);
}

test('the example service starts after the cont-init scripts in s6-overlay v3 and keeps its lock out of the scandir', async (t) => {
  const deps = (await readdir(path.join(EXAMPLE, 'dependencies.d'))).sort();
  t.deepEqual(deps, ['base', 'legacy-cont-init'], 'legacy-cont-init is the s6-overlay v3 oneshot that runs /etc/cont-init.d');
  const run = await readFile(path.join(EXAMPLE, 'run'), 'utf8');
  t.true(run.includes('--lock-file "${RECONCILE_GATEWAYS_LOCK_FILE:-/run/reconcile-gateways/run.lock}"'));
  t.true(run.includes('--status-file "${RECONCILE_GATEWAYS_STATUS_FILE:-/run/reconcile-gateways/status.json}"'));
  // finish: bad flags (100), another watcher (3) and a tool that cannot run (126, 127) stop the
  // restarts; anything else restarts.
  for (const [code, expected] of [
    ['100', 125],
    ['3', 125],
    ['126', 125],
    ['127', 125],
    ['0', 0],
    ['111', 0],
    ['2', 0],
  ] as const) {
    t.is(spawnSync('sh', [path.join(EXAMPLE, 'finish'), code]).status, expected, `finish ${code}`);
  }
});

// As root only: run as another user, the script runs the tool as that user.
needsRoot(test)('the example run script drops to hermes with RECONCILE_GATEWAYS_RUN_AS=hermes, as the cont-init step does', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'rg-run-as-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const calls = path.join(root, 'calls');
  const stub = (body: string): string => `#!/bin/sh\n${body}\n`;
  await writeFile(path.join(root, 's6-setuidgid'), stub(`echo "s6-setuidgid $*" >> "${calls}"\nshift\nexec "$@"`), { mode: 0o755 });
  await writeFile(path.join(root, 'reconcile-gateways'), stub(`echo "reconcile-gateways $1" >> "${calls}"`), { mode: 0o755 });
  const script = path.join(EXAMPLE, 'run');
  const env = { PATH: `${root}:/usr/bin:/bin`, RECONCILE_GATEWAYS_RUN_AS: 'hermes' };
  t.is(spawnSync('sh', [script], { env }).status, 0);
  t.deepEqual(readFileSync(calls, 'utf8').trimEnd().split('\n'), [
    `s6-setuidgid hermes reconcile-gateways watch --interval 60 --status-file /run/reconcile-gateways/status.json --lock-file /run/reconcile-gateways/run.lock --ready-fd 3 --metrics-listen 127.0.0.1:9464`,
    'reconcile-gateways watch',
  ]);
  await rm(calls);
  t.is(spawnSync('sh', [script], { env: { PATH: env.PATH } }).status, 0);
  t.deepEqual(readFileSync(calls, 'utf8').trimEnd().split('\n'), ['reconcile-gateways watch'], 'root by default');
  const bogus = spawnSync('sh', [script], { env: { PATH: env.PATH, RECONCILE_GATEWAYS_RUN_AS: 'nobody' }, encoding: 'utf8' });
  t.is(bogus.status, 100, 'another user is refused, as the cont-init step refuses it (finish makes 100 permanent)');
  t.regex(bogus.stdout, /RECONCILE_GATEWAYS_RUN_AS must be root or hermes/);
});

needsS6(test)(
  'the example s6 service dir runs watch with metrics on loopback, becomes ready after its first pass, and stops cleanly',
  async (t) => {
    const port = await freePort();
    const env = await makeS6World('live', {
      profiles: { a: { desired_state: 'running' } },
      svscanEnv: (p) => {
        const bin = path.join(p.root, 'bin');
        return {
          PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
          HERMES_HOME: p.home,
          S6_PROFILE_GATEWAY_SCANDIR: p.scandir,
          RECONCILE_GATEWAYS_CONFIG: p.config,
          RECONCILE_GATEWAYS_STATUS_FILE: path.join(p.root, 'status.json'),
          RECONCILE_GATEWAYS_LOCK_FILE: path.join(p.root, 'run.lock'),
          RECONCILE_GATEWAYS_ROLE: 'gateway',
          RECONCILE_GATEWAYS_METRICS_LISTEN: `127.0.0.1:${port}`,
        };
      },
    });
    const bin = path.join(env.root, 'bin');
    await mkdir(bin);
    await writeFile(path.join(bin, 'reconcile-gateways'), `#!/bin/sh\nexec ${process.execPath} ${MAIN} "$@"\n`, { mode: 0o755 });

    await installExample(env);
    await env.svscan.waitSvstat(SERVICE, 'up,ready', 'true true');
    await env.waitUp('a');
    const statusFile = path.join(env.root, 'status.json');
    const { validateStatusFile } = await loadValidators();
    const doc: unknown = JSON.parse(readFileSync(statusFile, 'utf8'));
    t.true(validateStatusFile?.(doc), JSON.stringify(validateStatusFile?.errors));
    t.like(doc, { ready: true, hermesHome: env.home, scandir: env.scandir });
    t.is((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    const metrics = (await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).split('\n');
    t.true(metrics.includes('reconcile_gateways_passes_total{trigger="start",result="converged"} 1'), metrics.join('\n'));
    t.false(existsSync(path.join(env.scandir, '.reconcile-gateways.lock')), 'the run lock is outside the scandir');
    const status = await runCli(
      ['status', '--hermes-home', env.home, '--scandir', env.scandir, '--config', env.config, '--container-argv', '[]', '--output', 'json'],
      { env: { RECONCILE_GATEWAYS_STATUS_FILE: statusFile } },
    );
    t.like(
      JSON.parse(status.stdout),
      { watcher: { state: 'present', running: true } },
      'status finds the watcher through RECONCILE_GATEWAYS_STATUS_FILE',
    );

    await env.profile('b', { desired_state: 'running' });
    await env.waitUp('b');
    await execFileAsync('s6-svc', ['-d', path.join(env.scandir, SERVICE)]);
    await env.svscan.waitSvstat(SERVICE, 'up,wantedup,exitcode', 'false false 0');
    await waitFor(async () => (await env.svscan.svstat('gateway-a')).up, 1000, 'gateways to keep running after watch stopped');
  },
);
