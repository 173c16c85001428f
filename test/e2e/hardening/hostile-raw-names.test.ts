/**
 * Entries the hermes user names with bytes that are not UTF-8, inside trees root deletes: a
 * removed slot (its `event/` is hermes-writable by design), a state directory planted before the
 * first run, and an upstream staging leftover. Each is deleted in one pass; none makes a pass
 * spin through its removal budget or fail for good.
 */
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { makeWorld, removeWorlds, runWorld, runWorldJson, writeProfiles } from '../../helpers/cli.js';

test.after.always('remove scratch trees', removeWorlds);

/** `dir/<name>` where `name` is given as latin1 code points, i.e. raw bytes (`'x\xff'`). */
const raw = (dir: string, name: string): Buffer => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name, 'latin1')]);

test('a removed slot holding a non-UTF-8 name is deleted in one pass, and so is every other removal of that pass', async (t) => {
  const l = await makeWorld('raw-slot');
  writeProfiles(l.home, { a: 'running', b: 'running', c: 'running' });
  t.is((await runWorld('boot', l)).code, 0);
  fs.writeFileSync(raw(path.join(l.scandir, 'gateway-a', 'event'), 'x\xff'), '');
  fs.mkdirSync(raw(path.join(l.scandir, 'gateway-a'), 'd\xfe'));
  fs.writeFileSync(raw(path.join(l.scandir, 'gateway-a'), 'd\xfe/f\xff'), '');
  for (const p of ['a', 'b']) fs.rmSync(path.join(l.home, 'profiles', p), { recursive: true });

  const { doc, ...r } = await runWorldJson('sync', l);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(
    (doc.operations ?? []).map((o) => `${o.kind} ${o.service} ${o.status}`),
    ['remove gateway-a applied', 'remove gateway-b applied'],
  );
  t.deepEqual(
    fs
      .readdirSync(l.scandir)
      .filter((e) => !e.startsWith('.'))
      .sort(),
    ['gateway-c', 'gateway-default'],
  );
  t.deepEqual(fs.readdirSync(path.join(l.scandir, '.reconcile-gateways', 'trash')), [], 'nothing left in the trash');
});

test('a state directory planted before the first run, holding a non-UTF-8 name, is replaced and boot goes on', async (t) => {
  const l = await makeWorld('raw-state');
  writeProfiles(l.home, { a: 'running' });
  fs.mkdirSync(path.join(l.scandir, '.reconcile-gateways'));
  fs.writeFileSync(raw(path.join(l.scandir, '.reconcile-gateways'), 'x\xff'), '');

  const r = await runWorld('boot', l);
  t.is(r.code, 0, r.stderr);
  t.true(fs.existsSync(path.join(l.scandir, 'gateway-a', 'run')));
  t.deepEqual(
    fs.readdirSync(path.join(l.scandir, '.reconcile-gateways')).filter((e) => e.includes('\ufffd')),
    [],
    'the planted entry went with the foreign directory',
  );
});

test('an upstream staging leftover holding a non-UTF-8 name is cleaned up by boot in one pass', async (t) => {
  const l = await makeWorld('raw-leftover');
  writeProfiles(l.home, { a: 'running' });
  const leftover = path.join(l.scandir, '.gateway-a.tmp');
  fs.mkdirSync(leftover);
  fs.writeFileSync(raw(leftover, 'run\xff'), '');
  const { doc, ...r } = await runWorldJson('boot', l);
  t.is(r.code, 0, r.stderr);
  t.true((doc.operations ?? []).some((o) => o.kind === 'cleanup' && o.status === 'applied'));
  t.false(fs.existsSync(leftover));
  t.is((await runWorldJson('boot', l)).doc.operations?.length, 0, 'nothing left to clean');
});
