/** The YAML parser for Hermes' config.yaml (vendored: see vendor.ts). */
import { requireVendored } from './vendor.js';

type Parse = (text: string, options?: { readonly maxAliasCount?: number }) => unknown;

export function loadYamlParse(): Parse {
  return requireVendored<{ parse: Parse }>('yaml').parse;
}
