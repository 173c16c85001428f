/**
 * Strict UTF-8, shared by observe (state and config files) and diff (slot files): a malformed
 * byte is an error, never U+FFFD. One decoder serves every call: making one is costly (~60 µs) and
 * `decode` without `stream` keeps no state between calls.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes`, or undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}
