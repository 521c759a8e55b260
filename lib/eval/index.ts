// prmkit evaluation and data: ProcessBench (earliest-error F1), PRM800K step labels,
// Math-Shepherd automatic labelling, and earliest-error detectors.

// detectors
export { firstBelowThreshold, firstDrop, createDetector, describeDetector } from './detectors.js';
export type { ErrorDetector, DetectorSpec, FirstDropOptions } from './detectors.js';

// ProcessBench
export { readProcessBench, parseProcessBenchSubset } from './processbench/read.js';
export type { ProcessBenchRecord, ProcessBenchSubset, ReadProcessBenchOptions } from './processbench/read.js';
export { computeMetrics, subsetMetrics, harmonicMean } from './processbench/metrics.js';
export type { SubsetMetrics, ProcessBenchMetrics } from './processbench/metrics.js';
export { tuneThreshold } from './processbench/tune.js';
export type { TunedThreshold } from './processbench/tune.js';
export { evaluateProcessBench, evaluateStepProbs } from './processbench/evaluate.js';
export type { DecisionOptions, EvaluateOptions, ProcessBenchResult, ProcessBenchRun } from './processbench/evaluate.js';
export { readPredictions, writePredictions, predictionsFromLines } from './processbench/predictions.js';
export type { PredictionLine } from './processbench/predictions.js';
export { formatTable as formatProcessBenchTable, reportJson as processBenchReportJson } from './processbench/report.js';
export type { ReportInput as ProcessBenchReportInput } from './processbench/report.js';

// PRM800K
export { PRM800K_FINISH_REASONS } from './prm800k/types.js';
export type {
  Prm800kRating,
  Prm800kFinishReason,
  Prm800kCompletion,
  Prm800kHumanCompletion,
  Prm800kStep,
  Prm800kLabel,
  Prm800kQuestion,
  Prm800kRecord,
} from './prm800k/types.js';
export { parsePrm800kRecord } from './prm800k/parse.js';
export { prm800kChains } from './prm800k/chains.js';
export type { Prm800kChain, Prm800kChainOptions } from './prm800k/chains.js';
export { readPrm800k, streamPrm800k, prm800kAsProcessBench } from './prm800k/read.js';
export type { Prm800kReadOptions, Prm800kStats } from './prm800k/read.js';

// Math-Shepherd labelling
export { labelSteps } from './shepherd/label.js';
export type { ShepherdChain, LabelStepsOptions, LabellingCost, LabellingResult } from './shepherd/label.js';
export type { ShepherdLabels, IfExists } from './shepherd/store.js';
export type { GeneratorCost } from './shepherd/rollout.js';
export { formatCost as formatLabellingCost } from './shepherd/report.js';

// scorers and the command
export { OracleScorer, AlwaysCorrectScorer } from './scorers.js';
export type { LabelledChainRef } from './scorers.js';
export { scoreChains } from './score.js';
export type { ScoreChainsOptions } from './score.js';
export { parseScorerSpec, createScorer } from './scorer-spec.js';
export type { ScorerSpec, ScorerContext, ClosableScorer } from './scorer-spec.js';
export { readJsonLines, parseJsonLines } from './jsonl.js';
export type { JsonLine } from './jsonl.js';
export { parseGeneratorSpec, createGenerator } from './generator-spec.js';
export type { GeneratorSpec } from './generator-spec.js';
export { defaultIsFinal } from './shepherd/label.js';
