// Steps (character spans of the response) onto the policy's tokens (character spans of the
// same text): a step's reward goes to the token holding the step's last character, and
// where a character is split over several tokens, to the last of them (the one that
// completes it).
import { PrmInputError, PrmInputTypeError } from '../errors.js';
import type { SplitStep } from '../formats/split.js';
import type { TokenSpans } from './policy-tokenizer.js';

export type Placement = 'end' | 'spread';

/** Caller-given token spans (`[[start, end], ...]`, as a fast tokenizer's offset mapping) checked against the response. */
export function offsetsToSpans(offsets: unknown, responseLength: number, path: string): Omit<TokenSpans, 'ids'> {
  if (!Array.isArray(offsets)) throw new PrmInputTypeError(path, 'must be an array of [start, end] character offsets');
  const starts = new Int32Array(offsets.length);
  const ends = new Int32Array(offsets.length);
  offsets.forEach((p, t) => {
    if (!Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1]))
      throw new PrmInputTypeError(`${path}[${t}]`, 'must be [start, end], two integers');
    const [a, b] = p as [number, number];
    if (a < 0 || b < a || b > responseLength)
      throw new PrmInputError(`${path}[${t}]`, `= [${a}, ${b}] must satisfy 0 <= start <= end <= the response's length (${responseLength})`);
    if (t > 0 && a < starts[t - 1])
      throw new PrmInputError(`${path}[${t}]`, `starts at ${a}, before the previous token (${starts[t - 1]}): offsets must be in text order`);
    starts[t] = a;
    ends[t] = b;
  });
  return { starts, ends };
}

/** The token holding character `c`: the last token starting at or before it (0 when none does). */
function tokenOf(starts: Int32Array, c: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] <= c) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Per step, the index of the policy token holding its last character (non-decreasing). */
export function stepEndTokens(steps: readonly SplitStep[], spans: Omit<TokenSpans, 'ids'>, path: string): Int32Array {
  const out = new Int32Array(steps.length);
  if (steps.length > 0 && spans.starts.length === 0) throw new PrmInputError(path, 'has steps but no policy tokens');
  steps.forEach((s, k) => (out[k] = tokenOf(spans.starts, s.end - 1)));
  return out;
}

/**
 * Per-token rewards: each step's reward on its end token ('end', rewards of steps ending on
 * one token add up), or divided evenly over its tokens ('spread': from the token holding its
 * first character, or the one after the previous step's end token if later, to its end token).
 */
export function placeRewards(
  rewards: readonly number[],
  steps: readonly SplitStep[],
  ends: Int32Array,
  spans: Omit<TokenSpans, 'ids'>,
  placement: Placement,
): Float32Array {
  const out = new Float64Array(spans.starts.length);
  let prevEnd = -1;
  rewards.forEach((r, k) => {
    const last = ends[k];
    if (placement === 'end') out[last] += r;
    else {
      const first = Math.min(last, Math.max(tokenOf(spans.starts, steps[k].start), prevEnd + 1));
      const share = r / (last - first + 1);
      for (let t = first; t <= last; t++) out[t] += share;
    }
    prevEnd = last;
  });
  return Float32Array.from(out);
}
