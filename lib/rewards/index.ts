// Dense rewards for RL: step rewards on the policy's tokens, and GRPO advantages from them.
export { denseRewards, denseFromProbs, prepareResponses, stepRewardsFrom, checkDenseOptions, STEP_REWARD_KINDS, PLACEMENTS } from './dense.js';
export type { DenseReward, DenseRewardItem, DenseRewardOptions, StepRewardKind, StepScoringModel, PreparedResponse } from './dense.js';
export { PolicyTokenizer } from './policy-tokenizer.js';
export type { TokenSpans } from './policy-tokenizer.js';
export { offsetsToSpans, placeRewards, stepEndTokens } from './token-map.js';
export type { Placement } from './token-map.js';
export { responseSteps, STEP_JOINER } from './steps.js';
export { groupAdvantages } from './advantages.js';
export type { RewardedResponse } from './advantages.js';
