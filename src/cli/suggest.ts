/**
 * "Did you mean …?" for a mistyped flag or config key: the nearest candidate by edit distance,
 * when it is close enough to be a typo rather than a different word.
 */

/** The candidate nearest to `word`, or undefined when none is within a third of its length (at least 2 edits). */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance (insert, delete, substitute), two rows. A 15-line function beats a dependency here. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** ` (did you mean X?)`, or '' when nothing is near. */
export function didYouMean(word: string, candidates: Iterable<string>, format: (c: string) => string = (c) => c): string {
  const n = nearest(word, candidates);
  return n === undefined ? '' : ` (did you mean ${format(n)}?)`;
}
