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
import type { ObservedSlot } from '../../../src/model/observed.js';
import type { ProfileDecision } from '../../../src/model/desired.js';
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
  pickup: true,
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

/** The `enum` at a JSON-pointer-like path of a schema (`null` entries, for optional fields, dropped). */
function enumAt(name: string, pointer: string): unknown[] {
  let node: unknown = schema(name);
  for (const key of pointer.split('/').filter(Boolean)) node = (node as Json)[key];
  return ((node as Json)['enum'] as unknown[]).filter((v) => v !== null).sort();
}

test('the plan schema accepts exactly the operation kinds of the model', (t) => {
  t.deepEqual(enumAt('plan.schema.json', 'definitions/operation/properties/kind'), Object.keys(KINDS).sort());
});

test("the plan schema's mode is one of the model's modes (a skip document's also watch's)", (t) => {
  t.deepEqual(enumAt('plan.schema.json', 'definitions/plan/properties/mode'), Object.keys(MODES).sort());
  t.deepEqual(enumAt('plan.schema.json', 'definitions/skipped/properties/mode'), [...Object.keys(MODES), 'watch'].sort());
});

test('the config schema knows every setting of the model, and no other', (t) => {
  const keys: ReadonlyArray<keyof Settings> = Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[];
  const properties = Object.keys((schema('config.schema.json')['properties'] ?? {}) as Json);
  t.deepEqual([...properties].sort(), [...keys].sort());
});

const ACTIONS: Readonly<Record<ProfileDecision['action'], true>> = { started: true, registered: true, skipped: true, pending: true };
const PRIOR_EXITS: Readonly<Record<ProfileDecision['priorExit'], true>> = { clean: true, unclean: true, unknown: true };
const STATUSES: Readonly<Record<OperationResult['status'], true>> = { applied: true, failed: true };
const ENTRIES: Readonly<Record<ObservedSlot['entry'], true>> = { dir: true, symlink: true, file: true, other: true };
const POLICIES: Readonly<Record<Settings['multiplexPolicy'], true>> = { gate: true, fold: true };

test('decisions, results, slot entries and the multiplex policy are what the schemas name', (t) => {
  t.deepEqual(enumAt('plan.schema.json', 'definitions/profile/properties/action'), Object.keys(ACTIONS).sort());
  t.deepEqual(enumAt('status-report.schema.json', 'definitions/row/properties/intent/properties/action'), Object.keys(ACTIONS).sort());
  t.deepEqual(enumAt('plan.schema.json', 'definitions/profile/properties/priorExit'), Object.keys(PRIOR_EXITS).sort());
  t.deepEqual(enumAt('plan.schema.json', 'definitions/operation/properties/status'), Object.keys(STATUSES).sort());
  t.deepEqual(enumAt('status-report.schema.json', 'definitions/row/properties/slot/properties/kind'), Object.keys(ENTRIES).sort());
  t.deepEqual(enumAt('config.schema.json', 'properties/multiplexPolicy'), Object.keys(POLICIES).sort());
});
