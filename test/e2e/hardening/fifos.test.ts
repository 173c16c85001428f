/**
 * Issue 4: nothing blocks. A FIFO, socket or device where a state file, marker, config, log, slot
 * file or the lock is expected is refused without a blocking open, and the pass finishes (the
 * 20 s deadline of every run is a liveness check, not a timing).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { removeWorlds, runWorld, runWorldJson, writeProfiles, makeWorld } from '../../helpers/cli.js';
import { needsRoot } from '../../helpers/needs.js';

const servers: net.Server[] = [];

test.after.always('close sockets and remove scratch trees', async () => {
  for (const s of servers) s.close();
  await removeWorlds();
});

function mkfifo(file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file)) fs.rmSync(file);
  execFileSync('mkfifo', [file]);
}

test('FIFOs in HERMES_HOME (state, lifecycle, config.yaml, SOUL.md, boot log) never block boot and are reported', async (t) => {
  const l = await makeWorld('fifo-home');
  writeProfiles(l.home, { a: undefined, b: 'running', c: 'running', d: 'running' });
  mkfifo(path.join(l.home, 'gateway_state.json'));
  mkfifo(path.join(l.home, 'config.yaml'));
  mkfifo(path.join(l.home, 'profiles', 'a', 'gateway_state.json'));
  mkfifo(path.join(l.home, 'profiles', 'b', 'state', 'gateway.lifecycle.json'));
  mkfifo(path.join(l.home, 'profiles', 'c', 'SOUL.md'));
  mkfifo(path.join(l.home, 'logs', 'container-boot.log'));

  const { doc, ...result } = await runWorldJson('boot', l);
  t.false(result.timedOut, 'boot blocked on a FIFO');
  t.is(result.code, 0, result.stderr);
  const warnings = (doc.warnings ?? []).join('\n');
  t.regex(warnings, /home\/gateway_state\.json \(is a FIFO\)/);
  t.regex(warnings, /profiles\/a\/gateway_state\.json \(is a FIFO\)/);
  t.regex(warnings, /config\.yaml could not be read \(is a FIFO\)/);
  t.regex(warnings, /could not write the boot log/);
  t.deepEqual(
    fs
      .readdirSync(l.scandir)
      .filter((n) => !n.startsWith('.'))
      .sort(),
    ['gateway-a', 'gateway-b', 'gateway-c', 'gateway-d', 'gateway-default'],
  );
  t.is((doc.profiles ?? []).find((p) => p.profile === 'b')?.action, 'started');
});

/** Bytes a nonblocking FIFO reader can read now (EAGAIN: none, 0: the writer came and went). */
function bytesWaiting(fd: number): number {
  try {
    return fs.readSync(fd, Buffer.alloc(4096));
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'EAGAIN') return 0;
    throw err;
  }
}

test('a boot-log FIFO someone holds open for reading receives nothing', async (t) => {
  const l = await makeWorld('fifo-reader');
  writeProfiles(l.home, { a: 'running' });
  const fifo = path.join(l.home, 'logs', 'container-boot.log');
  mkfifo(fifo);
  const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const { doc, ...result } = await runWorldJson('boot', l);
    t.false(result.timedOut);
    t.is(result.code, 0);
    t.regex((doc.warnings ?? []).join('\n'), /could not write the boot log: .*is a FIFO/);
    t.is(bytesWaiting(reader), 0, 'a line was written into the FIFO');
  } finally {
    fs.closeSync(reader);
  }
});

needsRoot(test)('a socket or a device where a state file is expected is refused without reading it', async (t) => {
  const l = await makeWorld('sock-dev');
  writeProfiles(l.home, { sock: undefined, dev: undefined });
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path.join(l.home, 'profiles', 'sock', 'gateway_state.json'), resolve));
  execFileSync('mknod', ['-m', '0666', path.join(l.home, 'profiles', 'dev', 'gateway_state.json'), 'c', '1', '5']);
  const { doc, ...result } = await runWorldJson('boot', l);
  t.false(result.timedOut, 'boot blocked on, or read forever from, a device');
  t.is(result.code, 0, result.stderr);
  const warnings = (doc.warnings ?? []).join('\n');
  t.regex(warnings, /sock\/gateway_state\.json \(is a socket or device\)/);
  t.regex(warnings, /dev\/gateway_state\.json \(is a device\)/);
});

test('FIFOs where slot files or the down marker are expected never block sync and are replaced', async (t) => {
  const l = await makeWorld('fifo-slot');
  writeProfiles(l.home, { alice: 'running', bob: 'stopped' });
  t.is((await runWorld('boot', l)).code, 0);
  mkfifo(path.join(l.scandir, 'gateway-alice', 'run'));
  mkfifo(path.join(l.scandir, 'gateway-alice', 'log', 'run'));
  mkfifo(path.join(l.scandir, 'gateway-bob', 'down'));
  mkfifo(path.join(l.scandir, 'gateway-bob', 'finish'));
  writeProfiles(l.home, { bob: 'running' });

  const result = await runWorld('sync', l);
  t.false(result.timedOut);
  t.is(result.code, 0, result.stderr);
  for (const rel of ['gateway-alice/run', 'gateway-alice/log/run', 'gateway-bob/finish']) {
    t.true(fs.lstatSync(path.join(l.scandir, rel)).isFile(), `${rel} is a regular file again`);
  }
  t.false(fs.existsSync(path.join(l.scandir, 'gateway-bob', 'down')));
  t.is((await runWorld('sync', l, ['--diff'])).code, 0);
});

test('a FIFO planted as the lock file never blocks: the run stops with 111 and says why', async (t) => {
  const l = await makeWorld('fifo-lock');
  writeProfiles(l.home, { alice: 'running' });
  const lock = path.join(l.root, 'planted.lock');
  mkfifo(lock);
  const { doc, ...result } = await runWorldJson('sync', l, ['--lock-file', lock]);
  t.false(result.timedOut);
  t.is(result.code, 111);
  t.regex(doc.error?.message ?? '', /lock file .* is not a regular file/);
  t.deepEqual(fs.readdirSync(l.scandir), []);
});

test("a FIFO planted under the state directory's name never blocks: it is replaced by a private directory", async (t) => {
  const l = await makeWorld('fifo-state');
  writeProfiles(l.home, { alice: 'running' });
  mkfifo(path.join(l.scandir, '.reconcile-gateways'));
  const result = await runWorldJson('sync', l);
  t.false(result.timedOut);
  t.is(result.code, 0, result.stderr);
  t.true(fs.lstatSync(path.join(l.scandir, '.reconcile-gateways')).isDirectory());
});
