/**
 * Escaping for every line-oriented output (stdout, logs, the boot log): control characters in a
 * name can never start a new line or forge a field.
 */

/**
 * What {@link escapeLine} escapes: controls, format characters (bidi controls, zero-width ones),
 * line and paragraph separators, every default-ignorable code point (invisible by definition),
 * every space but U+0020, lone surrogates, and the backslash that starts an escape.
 */
const ESCAPED = /(?! )[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Zs}\p{Cs}\p{Default_Ignorable_Code_Point}\\]/gu;

/**
 * Replaces C0/C1 controls, DEL, U+2028/2029, the bidirectional controls (which can make a line
 * read differently from its bytes), the invisible characters and the spaces other than U+0020 (a
 * name holding one prints like another name, or cannot be typed back from the screen) and
 * backslash with visible escapes: `\n`, `\xNN`, `\uNNNN`, `\u{NNNNN}`, `\\`.
 */
export function escapeLine(text: string): string {
  return text.replace(ESCAPED, (ch) => {
    if (ch === '\\') return '\\\\';
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    const code = ch.codePointAt(0) ?? 0;
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** Longest value echoed whole into a `key=value` line; longer ones are cut (issue 16 #1). */
export const FIELD_VALUE_MAX = 256;

/**
 * One `key=value` field's value, safe to print: escaped as {@link escapeLine} does, cut to
 * {@link FIELD_VALUE_MAX} characters, and double-quoted (with `"` escaped) when it holds a space,
 * a quote or `=`, so a state like `running action=started` cannot forge a field (issue 16 #13a).
 * Plain values keep upstream's bare form byte for byte.
 */
export function fieldValue(value: string): string {
  let text = escapeLine(value);
  if (text.length > FIELD_VALUE_MAX) text = `${text.slice(0, FIELD_VALUE_MAX)}...(${text.length - FIELD_VALUE_MAX} more)`;
  if (text !== '' && !/[\s"=\u0085\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]/.test(text)) return text;
  return `"${text.replace(/"/g, '\\"')}"`;
}

/**
 * A word a POSIX shell reads back as `text` (for a command a message suggests): bare when it holds
 * only characters no shell treats specially, else single-quoted. Escape the line it goes into as usual.
 */
export function shellWord(text: string): string {
  // `'` as '"'"' rather than '\'': the line's escaping doubles a backslash, never a quote.
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'"'"'`)}'`;
}

/**
 * A value named inside a message, in double quotes and otherwise as it is: every output escapes
 * the whole message as {@link escapeLine} does. (`JSON.stringify` here would escape a control
 * character first, and the line's escaping then doubled its backslash: `"x\\u001b"`.)
 */
export function quoted(text: string): string {
  return `"${text}"`;
}

/**
 * A `key="…"` field's value for a whole sentence (a reason, an error): escaped as
 * {@link escapeLine} does first, then JSON-quoted, so a `"` in it reads `\"` and cannot end the
 * field early (escaping after quoting turned it into `\\"`, which does).
 */
export function quotedField(text: string): string {
  return JSON.stringify(escapeLine(text));
}
