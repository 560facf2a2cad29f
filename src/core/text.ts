/**
 * Small helpers for error messages a person can act on: what a value was, and which valid name
 * they probably meant.
 */

/** A short description of a value's JSON-ish type for messages: `null`, `an array`, `a string`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number')
    return Number.isFinite(value) ? `the number ${value}` : String(value);
  if (typeof value === 'string') return `the string '${truncate(value, 40)}'`;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * Edit distance between `a` and `b` counting insertions, deletions, substitutions and swaps of
 * two neighbouring characters (`hihg` → `high` is 1), or `limit + 1` as soon as it is known to
 * exceed `limit` (so scanning thousands of candidates stays cheap).
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      if (
        i > 1 &&
        j > 1 &&
        a.charCodeAt(i - 1) === b.charCodeAt(j - 2) &&
        a.charCodeAt(i - 2) === b.charCodeAt(j - 1)
      ) {
        value = Math.min(value, (beforePrevious[j - 2] ?? 0) + 1);
      }
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/**
 * The candidates `input` was most likely a typo of: an exact case-insensitive match first, else
 * those within a small edit distance (about a third of the word, at most 3), closest first.
 */
export function closestMatches(input: string, candidates: Iterable<string>, max = 3): string[] {
  const lower = input.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(input.length / 3)));
  const scored: { candidate: string; distance: number }[] = [];
  for (const candidate of candidates) {
    if (candidate === input) continue;
    const candidateLower = candidate.toLowerCase();
    if (candidateLower === lower) return [candidate];
    const distance = editDistance(lower, candidateLower, limit);
    if (distance <= limit) scored.push({ candidate, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || (x.candidate < y.candidate ? -1 : 1));
  return scored.slice(0, max).map((s) => s.candidate);
}

/** ` (did you mean 'x'?)`, or the empty string when nothing is close. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const matches = closestMatches(input, candidates);
  if (matches.length === 0) return '';
  return ` (did you mean ${matches.map((m) => `'${m}'`).join(' or ')}?)`;
}

/** `a, b, c` — at most `max` items, then `… (N more)`. */
export function formatList(items: readonly string[], max = 10): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')}, … (${items.length - max} more)`;
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
