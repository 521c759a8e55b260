// prmkit: batched process-reward-model inference for Node.js.
//
// The root entry point is the scoring core: the kernels, Prm and Orm, formats and tokenization,
// dense rewards for RL, the interfaces the parts meet at, and the input errors they throw.
// It loads neither Fastify nor the search, evaluation or conversion code; those have their
// own entry points: prmkit/kernels, prmkit/search, prmkit/server, prmkit/eval,
// prmkit/convert, prmkit/testing (and prmkit/testing/arithmetic, the verifiable toy task).
export * from './kernels/index.js';
export type * from './interfaces.js';

export { PrmInputError, PrmInputTypeError, isInputError } from './errors.js';
export type { InputError, InputPath } from './errors.js';

export { Prm, PrmSession, PrefixCache, joinEncodings, pickRows } from './prm/index.js';
export type {
  ChunkingOptions,
  ClassifyOptions,
  EncodedRow,
  HeadSource,
  ImplicitLoadOptions,
  PrmBackendInfo,
  PrmConnectOptions,
  PrmDemoOptions,
  PrmEncodeOptions,
  PrmEncoding,
  PrmLoadOptions,
  PrefixCacheOptions,
  PrefixCacheStats,
  PrefixSharingStats,
  PrmScore,
  PrmStepLogs,
  StepLogsOptions,
  PrmScoreOptions,
  PrmStats,
  RankedCandidate,
  RerankOptions,
  RewardAggregation,
  RewardKind,
  SessionScore,
  TokenizerOptions,
  WorkerOptions,
} from './prm/index.js';

// outcome reward models: one score per solution (no step scores), ranked beside PRMs
export { Orm } from './orm/index.js';
export type { OrmCallOptions, OrmDemoOptions, OrmEncoding, OrmItem, OrmLoadOptions, OrmRerankOptions, OrmScore, RankedSolution } from './orm/index.js';
export { ORM_FORMATS, ORM_FORMAT_NAMES, resolveOrmFormat } from './formats/orm.js';
export type { OrmFormat, OrmFormatName, OrmFormatSpec, OrmValue } from './formats/orm.js';

export { PrmTokenizer } from './tokenize/index.js';
export type { AddedTokenSpec } from './tokenize/index.js';
export { encodeChains } from './formats/encode.js';
export type { EncodeOptions, EncodedBatch, Overflow } from './formats/encode.js';

// head training: over gathered rows (AdamW over the BCE kernel; the rows plug in as a RowSource),
// and end to end on a frozen converted backbone, the head written into its folder
export { fitHead, memoryRows, readTrainData, trainHead } from './train/index.js';
export type {
  EpochReport, FitOptions, FitResult, OrmTrainItem, PrmTrainItem, ReadTrainOptions, RowSource, TrainData, TrainDataFile, TrainHeadInput, TrainHeadOptions,
  TrainHeadResult, TrainProgress,
} from './train/index.js';

// dense rewards for RL: step rewards on the policy's tokens
export { denseRewards, groupAdvantages, PolicyTokenizer } from './rewards/index.js';
export type { DenseReward, DenseRewardItem, DenseRewardOptions, Placement, StepRewardKind, TokenSpans } from './rewards/index.js';

export { FORMATS, FORMAT_NAMES, resolveFormat, customFormat, splitSteps, SeparatorInStepError } from './formats/index.js';
export type { CustomFormat, EncodedChain, FormatHead, FormatName, PrmFormat, SplitStep, StepSplitter, TrlFormatSpec } from './formats/index.js';
