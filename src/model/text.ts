/**
 * Strict UTF-8, shared by observe (state and config files) and diff (slot files): a malformed
 * byte is an error, never U+FFFD. One decoder serves every call: making one is costly (~60 µs) and
 * `decode` without `stream` keeps no state between calls.
 */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Where JSON.parse failed in `text` (the string it was given), as a line and a column: from the
 * offset V8 puts in its message ("in JSON at position N"; Node 20 gives only that, 22+ the line too).
 * Undefined when the message has no offset (the input ended early).
 */
export function jsonErrorAt(text: string, err: unknown): { readonly line: number; readonly column: number } | undefined {
  const at = /(?:in|after) JSON at position (\d+)/.exec(err instanceof Error ? err.message : '');
  if (at === null) return undefined;
  const lines = text.slice(0, Number(at[1])).split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/** The text of `bytes`, or undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A file name as raw bytes, for a message: its text when they are valid UTF-8, else its ASCII as
 * it is and every other byte as `\xNN`, so that an operator can type it back (U+FFFD could not).
 */
export function nameShown(raw: Uint8Array): string {
  return decodeUtf8(raw) ?? [...raw].map((b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
}

/**
 * Keeps in `first` the `max` first names in sort order of those added so far (the caller counts
 * the rest), so that a message names the same ones whatever a listing's order, and a long
 * listing is never held.
 */
export function keepFirst(first: string[], name: string, max: number): void {
  if (first.length >= max && name >= (first.at(-1) ?? '')) return;
  first.push(name);
  first.sort();
  if (first.length > max) first.pop();
}

/** `a, b and c`; past `first` names, the rest as a count: `a, b and 3 more`. */
export function namesInProse(names: readonly string[], first: number): string {
  const shown = names.slice(0, first);
  const rest = names.length - shown.length;
  const tail = rest > 0 ? [`${rest} more`] : shown.splice(-1);
  return shown.length === 0 ? (tail[0] ?? '') : `${shown.join(', ')} and ${tail[0] ?? ''}`;
}
