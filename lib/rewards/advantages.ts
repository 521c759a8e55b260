// Dense rewards of groups of responses (one group = the samples of one prompt) packed into
// the advantages kernel's flat arrays, and its output cut back into one array per response.
import { grpoAdvantages } from '../kernels/advantages.js';
import type { AdvantageOptions } from '../kernels/advantages-types.js';

export interface RewardedResponse {
  stepRewards: readonly number[];
  stepEnds: readonly number[];
  tokens: number;
}

/** GRPO advantages per policy token of every response, group by group (`groups[g]` = its responses). */
export async function groupAdvantages(groups: ReadonlyArray<ReadonlyArray<RewardedResponse>>, options?: AdvantageOptions): Promise<Float32Array[][]> {
  const flat = groups.flat();
  let S = 0;
  for (const r of flat) {
    if (r.stepEnds.length !== r.stepRewards.length)
      throw new RangeError('every response needs policy tokens (its stepEnds) to get advantages: give tokenOffsets or a policy tokenizer');
    S += r.stepRewards.length;
  }
  const stepRewards = new Float32Array(S);
  const stepEnds = new Int32Array(S);
  const stepOffsets = new Int32Array(flat.length + 1);
  const responseTokens = new Int32Array(flat.length);
  const responseOffsets = new Int32Array(groups.length + 1);
  groups.forEach((g, i) => (responseOffsets[i + 1] = responseOffsets[i] + g.length));
  let s = 0;
  flat.forEach((r, i) => {
    stepRewards.set(r.stepRewards, s);
    stepEnds.set(r.stepEnds, s);
    s += r.stepRewards.length;
    stepOffsets[i + 1] = s;
    responseTokens[i] = r.tokens;
  });
  const out = await grpoAdvantages({ stepRewards, stepOffsets, responseOffsets, stepEnds, responseTokens }, options);
  let at = 0;
  return groups.map((g) =>
    g.map((r) => {
      const a = out.slice(at, at + r.tokens);
      at += r.tokens;
      return a;
    }),
  );
}
