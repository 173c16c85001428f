// Floors: what the same work costs when done by the plainest tools, measured in the same run so
// results read as ratios, not absolute times.
//
//   startup  `node -e 0`                      — the price of starting Node at all (N=10 target).
//   cold     `cp -a REF/. DST/` + `cat` of every gateway_state.json to /dev/null
//            REF is an already-rendered scandir of the same N (the tool's own cold-boot output
//            when the CLI exists; renderReferenceScandir() below otherwise). DST is empty.
//   read     `tar cf - SCANDIR STATEFILES | cat >/dev/null`
//            reads every file of the converged scandir plus the state files through a pipe.
//            (GNU tar skips reading file data when its output is /dev/null itself, hence the cat.)
// The shell globs `HH/profiles/*/gateway_state.json` inside the timed command, so discovery of the
// profiles (readdir + lookup) is part of every floor, as it is part of every pass of the tool.
//
//   node dist/bench/floors.js DIR N     generate HH + a reference scandir under DIR and time all floors.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Manifest, generateHermesHome } from './generate.js';
import { type Measurement, measure } from './measure.js';

/** A floor command. */
export interface Floor {
  readonly name: string;
  readonly cmd: string;
  readonly args: readonly string[];
}

/** The bench's config for the tool (and for the rendered reference scandir). */
export interface BenchConfig {
  readonly shebang: string;
  readonly user: string;
  readonly gatewayCommand: string;
  readonly uid?: number;
  readonly gid?: number;
}

export function startupFloor(): Floor {
  return { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] };
}

export function coldFloor(refScandir: string, dstScandir: string, hermesHome: string): Floor {
  return {
    name: 'cp -a + cat state',
    cmd: '/bin/sh',
    args: [
      '-c',
      'cp -a "$1"/. "$2"/ || exit 1; cat "$3"/gateway_state.json "$3"/profiles/*/gateway_state.json >/dev/null 2>&1; exit 0',
      'floor',
      refScandir,
      dstScandir,
      hermesHome,
    ],
  };
}

export function readFloor(scandir: string, hermesHome: string): Floor {
  return {
    name: 'tar | cat',
    cmd: '/bin/sh',
    args: [
      '-c',
      'tar cf - "$1" "$2"/gateway_state.json "$2"/profiles/*/gateway_state.json 2>/dev/null | cat >/dev/null; exit 0',
      'floor',
      scandir,
      hermesHome,
    ],
  };
}

/**
 * Render a scandir that looks like the tool's output (used as the `cp -a` source only when the
 * CLI is not available, so the floors can still be measured): per profile gateway-<name>/ with
 * type, run, finish, down (if not autostart), log/run, event/, supervise/control (FIFO),
 * log/event/, log/supervise/control (FIFO) and an ownership record. FIFOs are made with a single
 * mkfifo(1) call. `profiles` = manifest.profiles (+ root), `config` = bench config object.
 */
export function renderReferenceScandir(manifest: Manifest, dst: string, config: BenchConfig): number {
  fs.mkdirSync(dst, { recursive: true });
  const fifos: string[] = [];
  const all = [{ ...manifest.root, name: 'default', rootProfile: true }, ...manifest.profiles.map((p) => ({ ...p, rootProfile: false }))];
  for (const p of all) {
    const slot = path.join(dst, `gateway-${p.name}`);
    const home = p.rootProfile ? manifest.dir : path.join(manifest.dir, 'profiles', p.name);
    fs.mkdirSync(path.join(slot, 'log', 'event'), { recursive: true, mode: 0o755 });
    fs.mkdirSync(path.join(slot, 'log', 'supervise'), { mode: 0o700 });
    fs.mkdirSync(path.join(slot, 'event'), { mode: 0o3730 });
    fs.mkdirSync(path.join(slot, 'supervise'), { mode: 0o700 });
    fs.writeFileSync(path.join(slot, 'type'), 'longrun\n');
    fs.writeFileSync(
      path.join(slot, 'run'),
      `${config.shebang}\nexec 2>&1\nexport HERMES_HOME=${JSON.stringify(home)}\nexec s6-setuidgid ${config.user} ${config.gatewayCommand}\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(slot, 'finish'), `${config.shebang}\nexit 0\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(slot, 'log', 'run'), `${config.shebang}\nexec s6-log -b n10 s1000000 T /var/log/gateway-${p.name}\n`, {
      mode: 0o755,
    });
    if (p.desired !== 'running') fs.writeFileSync(path.join(slot, 'down'), '');
    fs.writeFileSync(
      path.join(slot, '.reconcile-gateways.json'),
      JSON.stringify({ owner: 'reconcile-gateways', profile: p.name, version: 1 }) + '\n',
    );
    fifos.push(path.join(slot, 'supervise', 'control'), path.join(slot, 'log', 'supervise', 'control'));
  }
  // one mkfifo per ~2000 paths to stay under ARG_MAX
  for (let i = 0; i < fifos.length; i += 2000) {
    const r = spawnSync('mkfifo', ['-m', '0600', ...fifos.slice(i, i + 2000)]);
    if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
  }
  if (config.uid !== undefined) spawnSync('chown', ['-R', `${config.uid}:${config.gid ?? config.uid}`, dst]);
  return all.length;
}

// ---- CLI: time the floors standalone ----
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [dir, nText] = process.argv.slice(2);
  if (!dir || !nText) {
    console.error('usage: node dist/bench/floors.js DIR N');
    process.exit(2);
  }
  const n = Number(nText);
  fs.mkdirSync(dir, { recursive: true });
  const hh = path.join(dir, 'home');
  const ref = path.join(dir, 'ref');
  const dstRoot = path.join(dir, 'dst');
  const manifest = generateHermesHome(hh, n, 1);
  renderReferenceScandir(manifest, ref, { shebang: '#!/bin/sh', user: 'nobody', gatewayCommand: '/bin/true', uid: 65534, gid: 65534 });
  const fmt = (name: string, m: Measurement): void =>
    console.log(
      `${name.padEnd(22)} N=${String(n).padEnd(6)} wall ${m.wallMs.toFixed(1).padStart(8)} ms  cpu ${String(m.cpuMs).padStart(6)} ms  rss ${((m.maxRssKb ?? 0) / 1024).toFixed(1)} MB`,
    );
  const s = startupFloor();
  fmt(s.name, await measure({ cmd: s.cmd, args: s.args }));
  const c = coldFloor(ref, dstRoot, hh);
  fmt(
    c.name,
    await measure({
      cmd: c.cmd,
      args: c.args,
      setup: () => {
        fs.rmSync(dstRoot, { recursive: true, force: true });
        fs.mkdirSync(dstRoot);
      },
    }),
  );
  const r = readFloor(ref, hh);
  fmt(r.name, await measure({ cmd: r.cmd, args: r.args }));
  fs.rmSync(dir, { recursive: true, force: true });
}
