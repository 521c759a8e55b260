// Scores whole solution texts for /rerank and /score: each text is split into steps by the
// configured splitter (the request's `step_splitter`, else the server's), scored as one chain
// against its problem, and summarized to one number: the chain's aggregate as a probability,
// or its log with `use_activation: false` (the PRM's raw, log-space score).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import { checkChains } from '../limits.js';
import { checkPriority } from '../vllm/request.js';
import { runChains } from './run-chains.js';
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
  priority?: number;
}

export interface ScoredSolutions {
  scores: number[];
  tokens: number;
}

export async function scoreSolutions(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  pairs: readonly SolutionPair[],
  how: SolutionScoring,
): Promise<ScoredSolutions> {
  const o = ctx.options;
  checkPriority(how.priority);
  // a chain cut short loses its last steps, so its score would be another solution's
  const k = how.truncatePromptTokens;
  if (k !== undefined && k !== null && k !== -1)
    throw badRequest('truncate_prompt_tokens is not supported when scoring solutions with a PRM: a cut solution loses its last steps', 'truncate_prompt_tokens');
  const splitter = how.splitter ?? o.compat.stepSplitter;
  const items: ChainItem[] = pairs.map((p, i) => {
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
  const chains = await checkChains(items, how.listField, how.field, (i) => how.field(i), o.limits, ctx.chains, how.problemField);
  const { summaries, tokens } = await runChains(ctx, request, reply, chains, how.aggregate ?? o.defaultAggregate, o.errorThreshold);
  return { scores: summaries.map((s) => (how.activation ? s.score : Math.log(s.score))), tokens };
}
