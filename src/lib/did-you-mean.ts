import { distance } from 'fastest-levenshtein';

/**
 * The candidate closest to a mistyped `input` (Levenshtein distance, case-insensitive), or
 * undefined when none is close enough to be a plausible typo: two edits (a swapped pair of
 * letters), or a third of the input's length for longer names, never more than `maxDistance`.
 */
export function didYouMean(input: string, candidates: Iterable<string>, maxDistance = 3): string | undefined {
  const needle = input.toLowerCase();
  const limit = Math.min(maxDistance, Math.max(2, Math.floor(needle.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(needle, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** ` (did you mean X?)`, or '' when nothing is close. */
export function suggestion(input: string, candidates: Iterable<string>, maxDistance?: number): string {
  const match = didYouMean(input, candidates, maxDistance);
  return match === undefined ? '' : ` (did you mean ${match}?)`;
}
