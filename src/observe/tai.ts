/**
 * skalibs' TAI64N labels (s6-facts §5) as Unix seconds. s6 writes real TAI: label = 2^62 + unix +
 * 37 for any date since 2017. The files are in a slot its user may write, so a label is clamped to
 * the years 1970–9999: every date made from it is one a Date can hold and print (a forged label
 * in the year 10^11 made `status` and `watch` throw on toISOString).
 */
const TAI_OFFSET = (1n << 62n) + 37n;

/** 9999-12-31T23:59:59Z, the last second an ISO 8601 date with four-digit years can say. */
export const MAX_UNIX = 253_402_300_799;

/** The Unix time of a TAI64N label and its nanoseconds, clamped to [0, MAX_UNIX]. */
export function taiToUnix(label: bigint, nanos: number): number {
  if (label < TAI_OFFSET) return 0;
  const seconds = label - TAI_OFFSET;
  if (seconds >= BigInt(MAX_UNIX)) return MAX_UNIX;
  return Math.min(MAX_UNIX, Number(seconds) + Math.min(nanos, 999_999_999) / 1e9);
}
