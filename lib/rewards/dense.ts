// Dense rewards: a PRM's step scores turned into rewards on the policy's own tokens, for RL
// trainers that credit each step to the tokens that produced it.
import { PrmInputTypeError } from '../errors.js';
import type { SplitStep, StepSplitter } from '../formats/split.js';
import { knownKeys, object, oneOf } from '../is.js';
import type { ChainItem } from '../interfaces.js';
import type { Aggregation } from '../kernels/types.js';
import { PolicyTokenizer } from './policy-tokenizer.js';
import type { TokenSpans } from './policy-tokenizer.js';
import { responseSteps } from './steps.js';
import { offsetsToSpans, placeRewards, stepEndTokens } from './token-map.js';
import type { Placement } from './token-map.js';

/**
 * - `'prob'` (default): P(step correct).
 * - `'logprob'`: log P(step correct).
 * - `'delta'`: P(step k) − P(step k−1), with P(step −1) = 0, so a response's rewards add up
 *   to its last step's probability.
 */
export type StepRewardKind = 'prob' | 'logprob' | 'delta';
export const STEP_REWARD_KINDS: readonly StepRewardKind[] = ['prob', 'logprob', 'delta'];
export const PLACEMENTS: readonly Placement[] = ['end', 'spread'];

/** A response to reward: its text (split into steps) or its steps, or both. */
export interface DenseRewardItem {
  problem: string;
  /** The policy's response text, exactly as the policy's tokens spell it. */
  response?: string;
  /** The steps, when they are known; found in `response` in order when both are given. */
  steps?: readonly string[];
  /** The policy's token spans in `response` (`[start, end)` UTF-16 offsets, e.g. a fast tokenizer's offset mapping). */
  tokenOffsets?: ReadonlyArray<readonly [number, number]>;
  id?: string;
}

export interface DenseRewardOptions {
  stepReward?: StepRewardKind;
  /** 'end' (default): each step's reward on the token holding its last character; 'spread': shared evenly by the step's tokens. */
  placement?: Placement;
  /** How a response text becomes steps (see splitSteps; default 'auto'). */
  splitter?: StepSplitter;
  /** The policy's tokenizer (a tokenizer.json or its directory, or a loaded one), for items without tokenOffsets. */
  policyTokenizer?: string | PolicyTokenizer;
  aggregate?: Aggregation;
  errorThreshold?: number;
  signal?: AbortSignal;
}

export interface DenseReward {
  /** The steps and their spans in the response. */
  steps: SplitStep[];
  stepProbs: number[];
  stepRewards: number[];
  /** Per step, the policy token holding its last character (empty without policy tokens). */
  stepEnds: number[];
  /** Per policy token, its reward; absent when the item has no policy tokens. */
  tokenRewards?: Float32Array;
  /** Policy tokens of the response (0 without policy tokens). */
  tokens: number;
  /** The chain's aggregate as a probability. */
  score: number;
  firstError: number;
  id?: string;
}

/** What scores the steps: a Prm, or anything with its `score`. */
export interface StepScoringModel {
  readonly format: { readonly separator: string; readonly stepMark?: string };
  score(items: readonly ChainItem[], options?: { aggregate?: Aggregation; errorThreshold?: number; signal?: AbortSignal }): Promise<Array<{ stepProbs: number[]; score: number; firstError: number }>>;
}

const OPTION_KEYS = ['stepReward', 'placement', 'splitter', 'policyTokenizer', 'aggregate', 'errorThreshold', 'signal'];

export function stepRewardsFrom(probs: readonly number[], kind: StepRewardKind): number[] {
  if (kind === 'prob') return [...probs];
  if (kind === 'logprob') return probs.map((p) => Math.log(p));
  return probs.map((p, k) => p - (k === 0 ? 0 : probs[k - 1]));
}

export interface PreparedResponse {
  response: string;
  steps: SplitStep[];
  spans?: Omit<TokenSpans, 'ids'>;
}

/** Steps and policy token spans of each item, all checked before any scoring. */
export function prepareResponses(
  items: readonly unknown[],
  splitter: StepSplitter,
  separator: string | undefined,
  policy?: PolicyTokenizer,
  field = 'items',
): PreparedResponse[] {
  return items.map((raw, i) => {
    const path = `${field}[${i}]`;
    const it = object(raw, path) as Partial<DenseRewardItem>;
    if (typeof it.problem !== 'string') throw new PrmInputTypeError(`${path}.problem`, 'must be a string');
    const { response, steps } = responseSteps(it, path, splitter, separator);
    let spans: Omit<TokenSpans, 'ids'> | undefined;
    if (it.tokenOffsets !== undefined) spans = offsetsToSpans(it.tokenOffsets, response.length, `${path}.tokenOffsets`);
    else if (policy) spans = policy.spans(response, `${path}.response`);
    return { response, steps, spans };
  });
}

/** One response's rewards from its step probabilities. */
export function denseFromProbs(
  prepared: PreparedResponse,
  probs: readonly number[],
  kind: StepRewardKind,
  placement: Placement,
  path: string,
): Pick<DenseReward, 'steps' | 'stepProbs' | 'stepRewards' | 'stepEnds' | 'tokenRewards' | 'tokens'> {
  // a chain cut by the PRM's context scores only its first steps
  const steps = prepared.steps.slice(0, probs.length);
  const stepRewards = stepRewardsFrom(probs, kind);
  const out: ReturnType<typeof denseFromProbs> = { steps, stepProbs: [...probs], stepRewards, stepEnds: [], tokens: 0 };
  if (prepared.spans) {
    const ends = stepEndTokens(steps, prepared.spans, path);
    out.stepEnds = Array.from(ends);
    out.tokenRewards = placeRewards(stepRewards, steps, ends, prepared.spans, placement);
    out.tokens = prepared.spans.starts.length;
  }
  return out;
}

// Parsing a tokenizer.json takes long enough to matter per batch: the last few stay loaded.
const loaded = new Map<string, PolicyTokenizer>();
const KEEP_LOADED = 4;

function loadPolicy(path: string): PolicyTokenizer {
  let p = loaded.get(path);
  if (p) {
    loaded.delete(path);
  } else {
    p = PolicyTokenizer.load(path);
    if (loaded.size >= KEEP_LOADED) loaded.delete(loaded.keys().next().value!);
  }
  loaded.set(path, p);
  return p;
}

export function checkDenseOptions(options: DenseRewardOptions | undefined) {
  const o = options === undefined ? {} : (object(options, 'options') as DenseRewardOptions);
  knownKeys(o as Record<string, unknown>, OPTION_KEYS);
  let policy: PolicyTokenizer | undefined;
  if (o.policyTokenizer instanceof PolicyTokenizer) policy = o.policyTokenizer;
  else if (typeof o.policyTokenizer === 'string') policy = loadPolicy(o.policyTokenizer);
  else if (o.policyTokenizer !== undefined) throw new TypeError('options.policyTokenizer must be a path to a tokenizer.json (or its directory) or a PolicyTokenizer');
  return {
    kind: o.stepReward === undefined ? 'prob' : oneOf(o.stepReward, 'options.stepReward', STEP_REWARD_KINDS),
    placement: o.placement === undefined ? 'end' : oneOf(o.placement, 'options.placement', PLACEMENTS),
    splitter: o.splitter ?? 'auto',
    policy,
    score: { aggregate: o.aggregate, errorThreshold: o.errorThreshold, signal: o.signal },
  };
}

/** Dense rewards of `items` with `model` scoring the steps; results in the order of `items`. */
export async function denseRewards(model: StepScoringModel, items: readonly DenseRewardItem[], options?: DenseRewardOptions): Promise<DenseReward[]> {
  if (!Array.isArray(items)) throw new TypeError('items must be an array of { problem, response | steps }');
  const o = checkDenseOptions(options);
  const prepared = prepareResponses(items, o.splitter, model.format.stepMark, o.policy);
  const scored = await model.score(
    items.map((it, i) => ({ problem: it.problem, steps: prepared[i].steps.map((s) => s.text) })),
    o.score,
  );
  return scored.map((s, i) => {
    const r: DenseReward = { ...denseFromProbs(prepared[i], s.stepProbs, o.kind, o.placement, `items[${i}]`), score: s.score, firstError: s.firstError };
    if (items[i].id !== undefined) r.id = items[i].id;
    return r;
  });
}
