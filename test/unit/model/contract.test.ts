/**
 * The model's vocabulary is what the JSON documents promise: every operation kind the type
 * union has is one the plan schema accepts and the summary counts, and the modes and settings
 * keys are the ones the config schema and the CLI know. The records below are exhaustive by type
 * (a kind added to the union and not here fails to compile), so the schemas cannot drift from
 * the model silently.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { Mode, Settings } from '../../../src/model/settings.js';
import type { FileRead, ObservedSlot } from '../../../src/model/observed.js';
import type { FileSpec, ProfileDecision } from '../../../src/model/desired.js';
import type { OperationKind, OperationResult } from '../../../src/model/plan.js';
import { DEFAULT_SETTINGS } from '../../../src/cli/config.js';
import { repoRoot } from '../../helpers/s6.js';

const KINDS: Readonly<Record<OperationKind, true>> = {
  create: true,
  update: true,
  restart: true,
  up: true,
  down: true,
  remove: true,
  purge: true,
  sweep: true,
  cleanup: true,
  seed: true,
  heal: true,
};

const MODES: Readonly<Record<Mode, true>> = { boot: true, sync: true };

type Json = Record<string, unknown>;

function schema(name: string): Json {
  return JSON.parse(fs.readFileSync(path.join(repoRoot(), 'schemas', name), 'utf8')) as Json;
}

/** Every `enum` in a schema, wherever it is. */
function enums(node: unknown, out: unknown[][] = []): unknown[][] {
  if (Array.isArray(node)) node.forEach((n) => enums(n, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'enum' && Array.isArray(v)) out.push(v);
      else enums(v, out);
    }
  }
  return out;
}

test('the plan schema accepts exactly the operation kinds of the model', (t) => {
  const kinds = enums(schema('plan.schema.json')).find((e) => e.includes('create') && e.includes('heal'));
  t.deepEqual([...(kinds ?? [])].sort(), Object.keys(KINDS).sort());
});

test("the plan schema's mode is one of the model's modes", (t) => {
  const modes = enums(schema('plan.schema.json')).find((e) => e.includes('boot') && e.includes('sync'));
  t.deepEqual([...(modes ?? [])].sort(), Object.keys(MODES).sort());
});

test('the config schema knows every setting of the model, and no other', (t) => {
  const keys: ReadonlyArray<keyof Settings> = Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[];
  const properties = Object.keys((schema('config.schema.json')['properties'] ?? {}) as Json);
  t.deepEqual([...properties].sort(), [...keys].sort());
});

test('an operation result, a decision and a slot read are plain data that survive JSON', (t) => {
  const spec: FileSpec = { path: 'run', content: '#!/bin/sh\n', mode: 0o755 };
  const read: FileRead = { kind: 'missing' };
  const decision: ProfileDecision = {
    profile: 'a',
    service: 'gateway-a',
    priorState: null,
    autostart: true,
    action: 'started',
    priorExit: 'unknown',
  };
  const result: OperationResult = { op: { kind: 'up', service: 'gateway-a', profile: 'a', reason: 'intent running' }, status: 'applied' };
  const slotFiles: ObservedSlot['files'] = new Map([['run', read]]);
  for (const value of [spec, read, decision, result]) t.deepEqual(JSON.parse(JSON.stringify(value)), value);
  t.is(slotFiles.get('run')?.kind, 'missing');
});
