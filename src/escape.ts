/**
 * Escaping for every line-oriented output (stdout, logs, the boot log): control characters in a
 * name can never start a new line or forge a field.
 */

/**
 * Replaces C0/C1 controls, DEL, U+2028/2029, the bidirectional controls (which can make a line
 * read differently from its bytes) and backslash with visible escapes.
 */
export function escapeLine(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\\]/g, (ch) => {
    if (ch === '\\') return '\\\\';
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    const code = ch.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
