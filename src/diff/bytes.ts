/**
 * Byte comparison of a file's contents with a rendered string, without encoding the string: a
 * converged pass compares every managed file of every slot, and encoding each one first
 * allocated five buffers per slot (at 10,000 profiles, ~10 MB of garbage per pass). Pure.
 */

/** Whether `bytes` is exactly the UTF-8 encoding of `content` (as TextEncoder writes it). */
export function sameUtf8(bytes: Uint8Array, content: string): boolean {
  let j = 0;
  const n = content.length;
  for (let i = 0; i < n; i += 1) {
    let c = content.charCodeAt(i);
    if (c < 0x80) {
      if (bytes[j] !== c) return false;
      j += 1;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? content.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i += 1;
      } else {
        c = 0xfffd; // a lone surrogate encodes as U+FFFD
      }
    }
    if (c < 0x800) {
      if (bytes[j] !== (0xc0 | (c >> 6)) || bytes[j + 1] !== (0x80 | (c & 0x3f))) return false;
      j += 2;
    } else if (c < 0x10000) {
      if (bytes[j] !== (0xe0 | (c >> 12)) || bytes[j + 1] !== (0x80 | ((c >> 6) & 0x3f)) || bytes[j + 2] !== (0x80 | (c & 0x3f)))
        return false;
      j += 3;
    } else {
      if (
        bytes[j] !== (0xf0 | (c >> 18)) ||
        bytes[j + 1] !== (0x80 | ((c >> 12) & 0x3f)) ||
        bytes[j + 2] !== (0x80 | ((c >> 6) & 0x3f)) ||
        bytes[j + 3] !== (0x80 | (c & 0x3f))
      ) {
        return false;
      }
      j += 4;
    }
  }
  return j === bytes.length;
}
