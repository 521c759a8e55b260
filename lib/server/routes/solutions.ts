// Scores whole solution texts for /rerank and /score: each text is split into steps by the
// configured splitter (the request's `step_splitter`, else the server's), scored as one chain
// against its problem, and summarized to one number: the chain's aggregate as a probability,
// or its log with `use_activation: false` (the PRM's raw, log-space score). An outcome reward
// model reads each text whole (no splitting): its score is the probability where the model
// defines one, else the raw reward, and the raw reward with `use_activation: false`.
import type { FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import { checkChains } from '../limits.js';
import { checkPriority, truncationSize } from '../vllm/request.js';
import { outcomeScore, runChains } from './run-chains.js';
import { splitSteps } from '../../formats/split.js';
import type { Aggregation } from '../../kernels/types.js';
import type { ChainItem } from '../../interfaces.js';

export interface SolutionPair {
  problem: string;
  text: string;
}

export interface SolutionScoring {
  /** Request field of pair i's solution (`documents[3]`), for errors. */
  field: (i: number) => string;
  /** The request's field for all pairs' problems (`query`), for errors. */
  problemField: string;
  /** Field that holds all solutions (`documents`), for count limits. */
  listField: string;
  splitter?: string;
  aggregate?: Aggregation;
  activation: boolean;
  truncatePromptTokens?: number | null;
  /** Cohere's and vLLM's per-document token budget. */
  maxTokensPerDoc?: number | null;
  priority?: number;
}

export interface ScoredSolutions {
  scores: number[];
  tokens: number;
}

export async function scoreSolutions(
  ctx: ServerContext,
  reply: FastifyReply,
  pairs: readonly SolutionPair[],
  how: SolutionScoring,
): Promise<ScoredSolutions> {
  const o = ctx.options;
  checkPriority(how.priority);
  const context = o.model.maxContext;
  const maxModelLen = context ?? o.limits.maxItemTokens;
  // A cut solution loses its last steps, and its score would be another solution's: a budget
  // that cuts nothing (-1, max_model_len or more) is fine, a smaller one is refused.
  const orm = o.model.kind === 'orm';
  const why = orm ? 'with an outcome reward model: a cut solution is read at another token' : 'with a PRM: a cut solution loses its last steps';
  const k = truncationSize(how.truncatePromptTokens, maxModelLen);
  if (k !== null && k < maxModelLen)
    throw badRequest(`truncate_prompt_tokens below max_model_len is not supported when scoring solutions ${why}`, 'truncate_prompt_tokens');
  if (how.maxTokensPerDoc !== undefined && how.maxTokensPerDoc !== null && how.maxTokensPerDoc < maxModelLen)
    throw badRequest(`max_tokens_per_doc below max_model_len is not supported when scoring solutions ${why}`, 'max_tokens_per_doc');
  const splitter = how.splitter ?? o.compat.stepSplitter;
  const items: ChainItem[] = pairs.map((p, i) => {
    // an ORM reads the whole text: one step, the text itself
    if (orm) {
      if (p.text.length === 0) throw badRequest(`${how.field(i)} is empty: there is no solution to score`, how.field(i));
      return { problem: p.problem, steps: [p.text] };
    }
    let steps: string[];
    try {
      steps = splitSteps(p.text, splitter, o.model.stepSeparator).map((s) => s.text);
    } catch (err) {
      throw badRequest(`step_splitter: ${(err as Error).message}`, 'step_splitter');
    }
    if (steps.length === 0) throw badRequest(`${how.field(i)} has no steps (the text is empty)`, how.field(i));
    return { problem: p.problem, steps };
  });
  if (items.length === 0) return { scores: [], tokens: 0 };
  // past the model's own context is vLLM's 400; the server's configured limits stay 413s
  const capped = context !== undefined && o.limits.maxItemTokens >= context;
  const limits = capped ? { ...o.limits, maxItemTokens: o.limits.maxRequestTokens } : o.limits;
  const chains = await checkChains(items, how.listField, how.field, (i) => how.field(i), limits, ctx.chains, how.problemField);
  if (capped)
    chains.forEach((c, i) => {
      if (c.tokens > context)
        throw badRequest(
          `This model's maximum context length is ${context} tokens. However, you requested ${c.tokens} tokens in the input for scoring. Please reduce the length of the input prompt.`,
          how.field(i),
        );
    });
  const { summaries, outcomes, tokens } = await runChains(ctx, reply, chains, how.aggregate ?? o.defaultAggregate, o.errorThreshold);
  if (outcomes) return { scores: outcomes.map((x) => outcomeScore(x, how.activation)), tokens };
  return { scores: summaries.map((s) => (how.activation ? s.score : s.logScore)), tokens };
}
