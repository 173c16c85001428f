/**
 * Issue 4, supervise ownership, with real s6 as root: in the root-owned model the hermes group
 * (nobody:nogroup here) can still read status, send commands and wait on events, but can no
 * longer plant a symlink in supervise/ that root's s6-supervise writes through; in upstream's
 * user-owned model it can. Also: who owns what the tool writes.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor, type Svscan } from '../../helpers/s6.js';
import { NOBODY, SLEEPING_GATEWAY, makeS6World, removeS6Worlds } from '../../helpers/s6-world.js';
import { makeWorld, runWorld, type World, writeProfiles } from '../../helpers/cli.js';
import { fileHash } from './tree-check.js';
import { ROOT, S6, needs, needsRoot } from '../../helpers/needs.js';

test.after.always('stop s6 and remove scratch trees', removeS6Worlds);

/** Runs a command as nobody:nogroup through s6-setuidgid, as the hermes user would. */
function asNobody(args: readonly string[]): { code: number | null; out: string } {
  const r = spawnSync('s6-setuidgid', ['nobody', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A live slot `gateway-alice` under a private s6-svscan, built by `boot` with `superviseOwner`. */
async function liveSlot(owner: 'user' | 'root'): Promise<{ l: World; svscan: Svscan; slot: string; victim: string }> {
  const l = await makeS6World(`owner-${owner}`, { gateway: SLEEPING_GATEWAY, nobodyDir: false, settings: { superviseOwner: owner } });
  const victim = path.join(l.root, 'victim');
  fs.writeFileSync(victim, 'root-owned content nobody may change\n', { mode: 0o644 });
  const { svscan } = l;
  const layout: World = l;
  writeProfiles(l.home, { alice: 'running' });
  const boot = await runWorld('boot', layout);
  if (boot.code !== 0) throw new Error(`boot failed: ${boot.stderr}`);
  await svscan.rescan(); // boot leaves the rescan to s6-overlay, as upstream does
  await svscan.waitUp('gateway-alice');
  return { l: layout, svscan, slot: svscan.servicePath('gateway-alice'), victim };
}

function modeOf(file: string): string {
  const st = fs.lstatSync(file);
  return `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
}

needs(
  test,
  S6,
  ROOT,
)('root-owned skeleton: the group reads status, sends commands and waits on events, but cannot plant a symlink', async (t) => {
  const { svscan, slot, victim } = await liveSlot('root');
  const before = fileHash(victim);
  t.is(modeOf(path.join(slot, 'supervise')), `710 0:${NOBODY}`);
  t.is(modeOf(path.join(slot, 'supervise', 'control')), `620 0:${NOBODY}`);
  t.is(modeOf(path.join(slot, 'event')), `3730 0:${NOBODY}`);
  t.is(modeOf(path.join(slot, 'log', 'supervise')), `710 0:${NOBODY}`);

  t.regex(asNobody(['s6-svstat', slot]).out, /^up \(pid \d+\)/);
  t.is(asNobody(['s6-svok', slot]).code, 0);
  t.is(asNobody(['s6-svc', '-wd', '-T', '10000', '-d', slot]).code, 0, 'the group could not bring the service down and wait');
  t.like(await svscan.svstat('gateway-alice'), { up: false, wantedup: false });
  const waiter = spawnSync(
    'sh',
    ['-c', `s6-setuidgid nobody s6-svwait -u -t 10000 ${slot} & sleep 0.3; s6-setuidgid nobody s6-svc -u ${slot}; wait $!`],
    { timeout: 20_000 },
  );
  t.is(waiter.status, 0, `s6-svwait as the group failed: ${String(waiter.stderr)}`);
  await svscan.waitUp('gateway-alice');

  t.not(asNobody(['ln', '-s', victim, path.join(slot, 'supervise', 'death_tally.planted')]).code, 0);
  t.not(asNobody(['rm', '-f', path.join(slot, 'supervise', 'death_tally')]).code, 0);
  t.not(asNobody(['ln', '-s', victim, path.join(slot, 'supervise', 'status.new')]).code, 0);
  const reader = spawnSync(
    process.execPath,
    [
      '-e',
      `require('fs').openSync(${JSON.stringify(path.join(slot, 'supervise', 'control'))}, require('fs').constants.O_RDONLY | require('fs').constants.O_NONBLOCK)`,
    ],
    { uid: NOBODY, gid: NOBODY },
  );
  t.regex(String(reader.stderr), /EACCES/, 'the group can open supervise/control for reading');
  t.is(asNobody(['s6-svc', '-k', slot]).code, 0);
  await waitFor(async () => (await svscan.svstat('gateway-alice')).up, 10_000, 'alice to come back');
  t.is(fileHash(victim), before);
});

needs(
  test,
  S6,
  ROOT,
)("upstream's user-owned skeleton lets the hermes user make root's s6-supervise write through a planted symlink", async (t) => {
  const { svscan, slot, victim } = await liveSlot('user');
  const before = fileHash(victim);
  t.is(modeOf(path.join(slot, 'supervise')), `755 ${NOBODY}:${NOBODY}`);
  t.is(asNobody(['rm', '-f', path.join(slot, 'supervise', 'death_tally')]).code, 0);
  t.is(asNobody(['ln', '-s', victim, path.join(slot, 'supervise', 'death_tally')]).code, 0);
  const pid = (await svscan.svstat('gateway-alice')).pid;
  t.is(asNobody(['s6-svc', '-k', slot]).code, 0);
  await waitFor(async () => (await svscan.svstat('gateway-alice')).pid !== pid, 10_000, 'alice to restart');
  await waitFor(() => fileHash(victim) !== before, 10_000, 'root s6-supervise to write through the planted death_tally');
  t.not(fileHash(victim), before, 'the escalation the root model closes');
});

needsRoot(test)(
  'root is the default: without superviseOwner the skeleton is root:gid and logs/ and the boot log belong to uid:gid',
  async (t) => {
    const l = await makeWorld('owner-default');
    writeProfiles(l.home, { alice: 'running' });
    t.is((await runWorld('boot', l, ['--container-argv', '["/init","/opt/hermes/docker/main-wrapper.sh","gateway","run"]'])).code, 0);
    const slot = path.join(l.scandir, 'gateway-alice');
    t.is(modeOf(path.join(slot, 'supervise')), `710 0:${NOBODY}`);
    t.false(fs.existsSync(path.join(slot, 'supervise', 'event')));
    t.is(modeOf(slot), '755 0:0');
    for (const rel of ['run', 'finish', 'log/run']) t.is(modeOf(path.join(slot, rel)), '755 0:0', rel);
    for (const rel of ['type', '.reconcile-gateways.json']) t.is(modeOf(path.join(slot, rel)), '644 0:0', rel);
    t.is(modeOf(path.join(slot, 'log')), '755 0:0');
    t.is(modeOf(path.join(l.home, 'logs')), `755 ${NOBODY}:${NOBODY}`);
    t.is(modeOf(path.join(l.home, 'logs', 'container-boot.log')), `644 ${NOBODY}:${NOBODY}`);
    t.is(modeOf(path.join(l.home, 'gateway_state.json')), `644 ${NOBODY}:${NOBODY}`, 'the legacy seed');
    t.is(
      asNobody(['mkdir', '-p', path.join(l.home, 'logs', 'gateways', 'alice')]).code,
      0,
      'log/run (as the user) cannot create its log dir',
    );
  },
);

needsRoot(test)(
  'adopting a slot the hermes user registered makes the slot and its scripts root-owned and not group/world-writable',
  async (t) => {
    const l = await makeWorld('owner-adopt');
    writeProfiles(l.home, { alice: 'running' });
    t.is((await runWorld('boot', l)).code, 0);
    const slot = path.join(l.scandir, 'gateway-alice');
    fs.rmSync(path.join(slot, '.reconcile-gateways.json'));
    for (const rel of ['', 'log', 'run', 'finish', 'type', 'log/run']) {
      fs.chownSync(path.join(slot, rel), NOBODY, NOBODY);
      fs.chmodSync(path.join(slot, rel), 0o777);
    }
    t.is((await runWorld('sync', l)).code, 0);
    t.is(modeOf(slot), '755 0:0');
    t.is(modeOf(path.join(slot, 'log')), '755 0:0');
    for (const rel of ['run', 'finish', 'log/run']) t.is(modeOf(path.join(slot, rel)), '755 0:0', rel);
    for (const rel of ['type', '.reconcile-gateways.json']) t.is(modeOf(path.join(slot, rel)), '644 0:0', rel);
  },
);
