/**
 * Access to the ajv validators precompiled at build time (scripts/build-validators.mjs), so no
 * schema is compiled at start-up. They are CommonJS, loaded with require, which the CLI bundle
 * (scripts/bundle.mjs) inlines, so each is run only when a command validates with it.
 */
import { createRequire } from 'node:module';
import { didYouMean } from './suggest.js';
import { quoted } from '../escape.js';

const requireHere = createRequire(import.meta.url);

/** One ajv error, with the params this CLI reads to name what is wrong. */
export interface ValidationError {
  readonly instancePath: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: { readonly additionalProperty?: string; readonly allowedValues?: readonly unknown[] };
}

/** An ajv standalone validate function. */
export interface Validator {
  (data: unknown): boolean;
  errors?: readonly ValidationError[] | null;
}

/** The validators generated from schemas/. */
export interface Validators {
  readonly validateConfig: Validator;
  readonly validatePlan: Validator;
  readonly validateOwnership: Validator;
  readonly validateRestarts: Validator;
  readonly validateStatusFile?: Validator;
  readonly validateStatusReport?: Validator;
  readonly validateWatchLine?: Validator;
}

/**
 * Every validator, from the generated module built next to this file (`npm run build`): for the
 * tests, which check the CLI's JSON against its schemas. The CLI itself validates only what it
 * reads (loadValidator), so the bundle carries only those.
 */
export async function loadValidators(): Promise<Validators> {
  return requireHere('../generated/validators.cjs') as Validators;
}

/** Loads a single generated validator (its own small module): what the CLI validates at run time. */
export async function loadValidator(name: 'validateConfig' | 'validateStatusFile'): Promise<Validator> {
  const mod = (typeof require === 'function' ? requireBundled(name) : requireHere(`../generated/${name}.cjs`)) as Partial<Validators>;
  const v = mod[name];
  if (v === undefined) throw new Error(`generated validator ${name} is missing; run npm run build`);
  return v;
}

/**
 * In the CLI bundle esbuild inlines each generated module behind these literal requires: only the
 * schemas of what the CLI reads (its config, the watcher's status file), not the ~160 KB of the
 * output schemas only tests validate against.
 */
function requireBundled(name: 'validateConfig' | 'validateStatusFile'): unknown {
  /* eslint-disable @typescript-eslint/no-require-imports -- esbuild inlines only literal requires */
  return name === 'validateConfig' ? require('../generated/validateConfig.cjs') : require('../generated/validateStatusFile.cjs');
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * ajv errors joined in one line, each `/path: message` (the message alone for the top level); an unknown key is named, with the nearest
 * of `knownKeys` when it looks like a typo, an enum lists its allowed values, and a pattern a
 * top-level key fails is said in `patterns`' words rather than as the regular expression.
 */
export function describeValidationErrors(
  v: Validator,
  knownKeys: readonly string[] = [],
  patterns: Readonly<Record<string, string>> = {},
): string {
  return (v.errors ?? []).map((e) => describeError(e, knownKeys, patterns)).join('; ');
}

/** The first of a failed validation's errors, and how many more there are. */
export function firstValidationError(v: Validator): string {
  const errors = v.errors ?? [];
  const first = errors[0] === undefined ? 'invalid' : describeError(errors[0], [], {});
  return errors.length > 1 ? `${first}, and ${errors.length - 1} more` : first;
}

function describeError(e: ValidationError, knownKeys: readonly string[], patterns: Readonly<Record<string, string>>): string {
  // The document itself (an unknown or missing top-level key) has the empty pointer: no prefix,
  // where `/:` read as a path to a person who never met a JSON pointer.
  const at = (text: string): string => (e.instancePath === '' ? text : `${e.instancePath}: ${text}`);
  const said = e.keyword === 'pattern' ? patterns[e.instancePath.slice(1)] : undefined;
  if (said !== undefined) return at(`must be ${said}`);
  const extra = e.params?.additionalProperty;
  if (e.keyword === 'additionalProperties' && extra !== undefined) {
    const near = didYouMean(extra, knownKeys, quoted);
    return at(`unknown key ${quoted(extra)}${near}${near === '' && knownKeys.length > 0 ? `; known keys: ${knownKeys.join(', ')}` : ''}`);
  }
  if (e.keyword === 'enum' && e.params?.allowedValues !== undefined) {
    return at(`must be one of ${e.params.allowedValues.map((a) => (typeof a === 'string' ? quoted(a) : JSON.stringify(a))).join(', ')}`);
  }
  return at(e.message ?? 'invalid');
}
