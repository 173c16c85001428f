/**
 * Turns raw state-file bytes into the parsed values the pure core reads. Raw bytes and parsed
 * values are different types: nothing downstream sees bytes.
 */
import type { FileRead, Lifecycle, StateFile } from '../model.js';
import { decodeUtf8, jsonErrorAt } from '../model/text.js';

/**
 * Largest state or lifecycle file that is read at all. Hermes writes a few hundred bytes; 64 KiB
 * leaves room for growth while 10,000 profiles at the cap stay within a pass's memory budget
 * (issue 16 #1: 1 MiB files of nested JSON took the run to a V8 out-of-memory).
 */
export const STATE_FILE_CAP = 64 * 1024;

/**
 * Most `{`/`[` a parsed file may hold. Hermes' files hold a handful; 64 KiB of `[{},{},…]` is
 * 21,000 objects, and parsing 10,000 such files cost most of a pass's CPU (issue 16 #1).
 */
const MAX_CONTAINERS = 1024;

/** Opening brackets in the bytes, an upper bound of the objects and arrays JSON.parse would build. */
function countContainers(bytes: Uint8Array): number {
  let n = 0;
  // Indexed: a for-of allocates an iterator result per byte until V8 optimizes the loop.
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x7b || bytes[i] === 0x5b) n += 1;
  return n;
}

type Parsed = { readonly ok: true; readonly value: Record<string, unknown> } | { readonly ok: false; readonly reason: string };

/** Parses a JSON object from bytes: BOM stripped, strict UTF-8, objects only. */
export function parseJsonObject(bytes: Uint8Array): Parsed {
  let start = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  const text = decodeUtf8(bytes.subarray(start));
  if (text === undefined) return { ok: false, reason: 'not valid UTF-8' };
  if (text.trim() === '') return { ok: false, reason: 'empty file' };
  if (countContainers(bytes) > MAX_CONTAINERS) return { ok: false, reason: `holds more than ${MAX_CONTAINERS} JSON objects or arrays` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `invalid JSON${jsonErrorWhere(text, err)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: `not a JSON object (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** A gateway_state.json read, parsed into the two fields that matter. */
export function parseStateFile(read: FileRead): StateFile {
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'refused') return { kind: 'unreadable', reason: read.reason };
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok) return { kind: 'unreadable', reason: parsed.reason };
  const desired = parsed.value['desired_state'];
  const ignored = desired === undefined || desired === null || typeof desired === 'string' ? undefined : jsonType(desired);
  return {
    kind: 'parsed',
    desiredState: stringOnly(desired),
    gatewayState: stringOnly(parsed.value['gateway_state']),
    ...(ignored === undefined ? {} : { desiredStateIgnored: ignored }),
  };
}

/** A state/gateway.lifecycle.json read, parsed into its phase. */
export function parseLifecycle(read: FileRead): Lifecycle {
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'refused') return { kind: 'unreadable', reason: read.reason };
  const parsed = parseJsonObject(read.bytes);
  if (!parsed.ok) return { kind: 'unreadable', reason: parsed.reason };
  return { kind: 'parsed', phase: stringOnly(parsed.value['phase']) };
}

/**
 * Longest state value kept whole. Hermes writes words (`running`, `stopped`); a longer value is
 * cut and marked, so it still never equals one of them, and 10,000 profiles of 60 KiB strings do
 * not hold 600 MB through a pass and into its JSON plan (issue 16 #1).
 */
const STATE_VALUE_MAX = 256;

/** `a number`, `an object`, … for a message. */
function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/** A field kept only when it is a string: nothing else is ever read, so nothing else is retained. */
function stringOnly(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > STATE_VALUE_MAX ? `${value.slice(0, STATE_VALUE_MAX)}...(${value.length - STATE_VALUE_MAX} more)` : value;
}

/**
 * Where JSON.parse failed, without the excerpt of the input V8 puts in some messages: a state file
 * may be a hard link to someone else's secret, and its bytes must never reach a log.
 */
function jsonErrorWhere(text: string, err: unknown): string {
  const at = jsonErrorAt(text, err);
  if (at !== undefined) return ` at line ${at.line} column ${at.column}`;
  return err instanceof Error && err.message.startsWith('Unexpected end of JSON input') ? ': unexpected end' : '';
}
