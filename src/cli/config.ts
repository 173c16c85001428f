/**
 * Loads `--config FILE`: JSON, validated against schemas/config.schema.json (unknown keys are an
 * error), merged over upstream's defaults.
 */
import fs from 'node:fs';
import type { Settings } from '../model.js';
import { UsageError } from '../errors.js';
import { describeValidationErrors, loadValidator } from './validate.js';

/**
 * Upstream's values: with them every rendered file is byte-identical to container_boot.py's.
 * One deliberate exception: the supervise skeleton is root-owned with group access by default
 * (`superviseOwner: 'root'`, issue 4); `'user'` restores upstream's hermes-owned skeleton.
 */
export const DEFAULT_SETTINGS: Settings = {
  user: 'hermes',
  uid: 10000,
  gid: 10000,
  home: '/opt/data',
  shebang: '#!/command/with-contenv sh',
  gatewayCommand: 'hermes',
  s6BinDir: '/command',
  servicePrefix: 'gateway-',
  bootLogMaxBytes: 262144,
  superviseOwner: 'root',
  multiplexPolicy: 'gate',
};

/** Host defaults for uid/gid (the `hermes` entry in /etc/passwd and /etc/group), if any. */
export interface HostIds {
  readonly uid?: number;
  readonly gid?: number;
}

/** Reads, validates and merges a config file; `undefined` path means built-in defaults. */
export async function loadSettings(path: string | undefined, host: HostIds = {}): Promise<Settings> {
  const base: Settings = { ...DEFAULT_SETTINGS, ...host };
  if (path === undefined || path === '') return base;
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError(`config ${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const validateConfig = await loadValidator('validateConfig');
  if (!validateConfig(data)) {
    throw new UsageError(`config ${path} is invalid: ${describeValidationErrors(validateConfig, Object.keys(DEFAULT_SETTINGS))}`);
  }
  return { ...base, ...(data as Partial<Settings>) };
}
