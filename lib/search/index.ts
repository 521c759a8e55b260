// prmkit/search: tree search over any step scorer. Strategies (greedy, bestOfN, beamSearch,
// dvts, mcts) drive a Generator and a StepScorer; generators and scorers for OpenAI-compatible
// servers, an LLM judge, exact verifiers. (The verifiable arithmetic task to try them on is
// prmkit/testing/arithmetic.)
export { greedy } from './strategies/greedy.js';
export type { GreedyOptions } from './strategies/greedy.js';
export { bestOfN } from './strategies/best-of-n.js';
export type { BestOfNOptions } from './strategies/best-of-n.js';
export { beamSearch } from './strategies/beam.js';
export type { BeamSearchOptions } from './strategies/beam.js';
export { dvts } from './strategies/dvts.js';
export type { DvtsOptions } from './strategies/dvts.js';
export { mcts } from './strategies/mcts.js';
export type { MctsOptions } from './strategies/mcts.js';

export type { SearchOptions, SearchResult, SearchEvent, SearchInput, StopReason } from './engine/types.js';
export type { SearchBudget, SearchUsage } from './engine/budget.js';
export { selectCandidate, tallyAnswers, SELECTION_METHODS } from './engine/select.js';
export type { CandidateChain, AnswerTally, Selection, SelectionMethod } from './engine/select.js';
export { aggregateChains } from './engine/aggregate.js';
// for writing new strategies on the same tree, budget and batching
export { SearchRun } from './engine/run.js';
export type { ExpandRequest, RunDefaults } from './engine/run.js';
export { treeToDot } from './engine/tree.js';
export type { SearchNode, SearchTreeJSON, NodeStatus } from './engine/tree.js';

export * from './answer.js';
export { VerifierScorer } from './scorers/verifier.js';
export type { VerifierScorerOptions, StepVerifier } from './scorers/verifier.js';
export { LlmJudgeScorer, JudgeParseError, parseVerdicts, judgePrompt } from './scorers/judge.js';
export type { JudgeScorerOptions } from './scorers/judge.js';
export { OpenAICompletionsGenerator, defaultPromptFormatter } from './openai/completions.js';
export type { CompletionsGeneratorOptions, PromptFormatter } from './openai/completions.js';
export { OpenAIChatGenerator } from './openai/chat.js';
export type { ChatGeneratorOptions, ChatMessage } from './openai/chat.js';
export type { OpenAIEndpointOptions } from './openai/client.js';
export type { HttpOptions } from './openai/http.js';
export { OpenAIHttpError, OpenAITimeoutError, OpenAIResponseError } from './openai/errors.js';
export type { ScorerSession, SessionScorer, SessionEntry, SessionResult, SessionScoreOptions, ScoreSessions } from './engine/incremental.js';
