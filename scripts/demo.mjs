// `npm run demo`: reconciles the bundled examples/hermes-home into a temporary scandir, shows the
// plan, shows that a second run is converged, and — when s6 is installed — starts a real
// s6-svscan on the result to show which gateways came up.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cli = path.join(root, 'bin', 'reconcile-gateways.cjs');
const harness = path.join(root, 'test', 'helpers', 's6-harness.sh');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'reconcile-gateways-demo-'));
fs.chmodSync(work, 0o755);
const home = path.join(work, 'hermes-home');
const state = path.join(work, 's6');
const scandir = path.join(state, 'scan');
// Everything the demo makes stays in `work`: the stand-in gateway, and a config whose `home` (the
// gateways' cwd, and log/run's HERMES_HOME fallback: s6-svscan's environment has none) is the copy.
const fakeGateway = path.join(work, 'fake-gateway');
const config = path.join(work, 'config.json');

const say = (text) => process.stdout.write(`\n\u2500\u2500 ${text}\n`);
const run = (args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  return r.status ?? 1;
};
const hasS6 = spawnSync('sh', ['-c', 'command -v s6-svscan'], { stdio: 'ignore' }).status === 0;

fs.cpSync(path.join(root, 'examples', 'hermes-home'), home, { recursive: true });
fs.writeFileSync(fakeGateway, '#!/bin/sh\n# demo stand-in for `hermes gateway run`\nexec sleep 1000\n', { mode: 0o755 });
fs.chmodSync(fakeGateway, 0o755);
const example = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'demo', 'config.json'), 'utf8'));
fs.writeFileSync(config, `${JSON.stringify({ ...example, gatewayCommand: fakeGateway, home }, null, 2)}\n`);
fs.mkdirSync(path.join(home, 'logs', 'gateways'), { recursive: true });
fs.chmodSync(path.join(home, 'logs', 'gateways'), 0o777);
const common = ['--hermes-home', home, '--scandir', scandir, '--config', config, '--container-argv', '[]'];

let svscanStarted = false;
try {
  say(`plan preview (boot --diff): ${home} -> ${scandir}`);
  run(['boot', ...common, '--diff']);
  say('first boot: creates one slot per valid profile');
  run(['boot', ...common]);
  say('second boot: converged, nothing to do');
  run(['boot', ...common]);
  say('second boot as JSON (operations is empty)');
  run(['boot', ...common, '--output', 'json']);
  if (!hasS6) {
    say('s6 is not installed (apt-get install s6 execline): skipping the live part');
  } else {
    say('starting a real s6-svscan on the scandir');
    const started = spawnSync('bash', [harness, 'start', state], { encoding: 'utf8' });
    if (started.status !== 0) throw new Error(`s6-svscan did not start: ${started.stderr}`);
    svscanStarted = true;
    spawnSync('sleep', ['1']);
    for (const entry of fs
      .readdirSync(scandir)
      .filter((n) => !n.startsWith('.'))
      .sort()) {
      const st = spawnSync('s6-svstat', [path.join(scandir, entry)], { encoding: 'utf8' });
      process.stdout.write(`${entry.padEnd(20)} ${(st.stdout || st.stderr).trim()}\n`);
    }
    say('sync against the live s6: converged, nothing to do');
    run(['sync', ...common]);
  }
} finally {
  if (svscanStarted) {
    say('stopping s6-svscan');
    spawnSync('bash', [harness, 'stop', state], { stdio: 'inherit' });
  }
  fs.rmSync(work, { recursive: true, force: true });
}
