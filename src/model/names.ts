/**
 * Profile-name rules. A name is checked before any side effect, so no name can reach the file
 * system outside its own slot.
 */

/** Upstream's profile-name pattern. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Longest accepted profile name: `gateway-` + 243 = 251 bytes, the service-name limit of the s6
 * versions s6-overlay ships (Debian's 2.11 accepts 255; 243 is a deliberate, documented choice).
 */
export const MAX_PROFILE_NAME = 243;

/** The rule, in words, for messages. */
export const NAME_RULE = `lower-case letters, digits, '-' and '_', starting with a letter or digit, at most ${MAX_PROFILE_NAME} characters`;

/** Why a profile name is invalid, or `undefined` when it is valid. */
export function invalidNameReason(name: string): string | undefined {
  if (name.length === 0) return 'empty name';
  if (name.length > MAX_PROFILE_NAME) return `name longer than ${MAX_PROFILE_NAME} characters`;
  if (!NAME_PATTERN.test(name)) return 'name does not match ^[a-z0-9][a-z0-9_-]*$';
  return undefined;
}

/** Whether a profile name is valid. */
export function isValidProfileName(name: string): boolean {
  return invalidNameReason(name) === undefined;
}

/** Compares two strings by their UTF-8 bytes, the order upstream sorts profile paths in. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i += 1) {
    const d = (ea[i] ?? 0) - (eb[i] ?? 0);
    if (d !== 0) return d;
  }
  return ea.length - eb.length;
}
