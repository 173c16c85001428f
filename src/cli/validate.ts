/**
 * Access to the ajv validators precompiled at build time (scripts/build-validators.mjs), so no
 * schema is compiled at start-up. They are CommonJS, loaded with require: the CLI bundle is a
 * classic script (scripts/bundle.mjs), where import() is not available.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** An ajv standalone validate function. */
export interface Validator {
  (data: unknown): boolean;
  errors?: readonly { instancePath: string; message?: string }[] | null;
}

/** The validators generated from schemas/. */
export interface Validators {
  readonly validateConfig: Validator;
  readonly validatePlan: Validator;
  readonly validateOwnership: Validator;
  readonly validateRestarts: Validator;
  readonly validateStatusFile?: Validator;
  readonly validateStatusReport?: Validator;
}

/** Loads the generated module (built next to this file by `npm run build`). */
export async function loadValidators(): Promise<Validators> {
  return requireHere('../generated/validators.cjs') as Validators;
}

/** Loads a single generated validator (its own small module), e.g. `validateConfig`. */
export async function loadValidator(name: keyof Validators): Promise<Validator> {
  const mod = requireHere(`../generated/${name}.cjs`) as Partial<Validators>;
  const v = mod[name];
  if (v === undefined) throw new Error(`generated validator ${name} is missing; run npm run build`);
  return v;
}

/** ajv errors as one line each: `/path: message`. */
export function describeValidationErrors(v: Validator): string {
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'invalid'}`).join('; ');
}
