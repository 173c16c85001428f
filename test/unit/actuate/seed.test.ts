/**
 * src/actuate/seed.ts: the seed of HERMES_HOME/gateway_state.json is written once,
 * atomically, and never over (or through) something already there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { applySeed } from '../../../src/actuate/seed.js';
import type { SeedOp } from '../../../src/model.js';
import { type Dir, closeDir, openRoot } from '../../../src/safe-fs/index.js';

const SEED: SeedOp = {
  kind: 'seed',
  service: 'gateway-default',
  profile: 'default',
  path: 'gateway_state.json',
  content: '{"desired_state":"running"}\n',
  reason: 'legacy gateway run',
};

function home(t: ExecutionContext): { root: string; dir: Dir } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-home-'));
  const dir = openRoot(root);
  t.teardown(() => {
    closeDir(dir);
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root, dir };
}

test('the seed is written with mode 0644 when no state file exists', (t) => {
  const h = home(t);
  t.deepEqual(applySeed(h.dir, SEED, undefined), { op: SEED, status: 'applied' });
  const file = path.join(h.root, 'gateway_state.json');
  t.is(fs.readFileSync(file, 'utf8'), SEED.content);
  t.is(fs.statSync(file).mode & 0o777, 0o644);
});

test('an existing state file is left as it is and reported', (t) => {
  const h = home(t);
  fs.writeFileSync(path.join(h.root, 'gateway_state.json'), '{"desired_state":"stopped"}\n');
  const result = applySeed(h.dir, SEED, undefined);
  t.is(result?.error, 'gateway_state.json appeared meanwhile; left as it is');
  t.is(fs.readFileSync(path.join(h.root, 'gateway_state.json'), 'utf8'), '{"desired_state":"stopped"}\n');
});

test('a dangling symlink in its place is not followed', (t) => {
  const h = home(t);
  const target = path.join(h.root, 'elsewhere.json');
  fs.symlinkSync(target, path.join(h.root, 'gateway_state.json'));
  const result = applySeed(h.dir, SEED, undefined);
  t.truthy(result?.error);
  t.false(fs.existsSync(target));
});
