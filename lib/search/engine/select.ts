// Picking a final answer from finished chains: the best-scored chain, a plain majority vote
// over answers, or a vote weighted by chain score (PRM-weighted majority).
import { oneOf } from '../../is.js';
import { canonicalAnswer } from '../answer.js';
import { byScoreDesc } from './aggregate.js';

export type SelectionMethod = 'best' | 'majority' | 'weighted';
export const SELECTION_METHODS: readonly SelectionMethod[] = ['best', 'majority', 'weighted'];

export interface CandidateChain {
  /** Node id in the result's tree. */
  nodeId: number;
  /** Generated steps (without the given prefix). */
  steps: string[];
  stepProbs?: number[];
  score?: number;
  answer?: string;
  /** Whether the chain ended (answer, end of solution, truncated step) rather than being cut off. */
  finished: boolean;
}

export interface AnswerTally {
  answer: string;
  /** Chains stating it. */
  count: number;
  /** Sum of their scores. */
  weight: number;
}

export interface Selection {
  chain?: CandidateChain;
  answer?: string;
  tally: AnswerTally[];
}

export function checkSelection(method: unknown, owner: string): SelectionMethod {
  return oneOf(method, `${owner}: selection`, SELECTION_METHODS);
}

/** Answers with their counts and score sums, in order of first appearance. */
export function tallyAnswers(candidates: readonly CandidateChain[]): AnswerTally[] {
  const groups = new Map<string, AnswerTally>();
  for (const c of candidates) {
    if (c.answer === undefined) continue;
    const key = canonicalAnswer(c.answer);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { answer: c.answer, count: 0, weight: 0 }));
    g.count++;
    const s = c.score ?? NaN;
    if (!Number.isNaN(s)) g.weight += s;
  }
  return [...groups.values()];
}

/**
 * The final pick. Voting ignores chains without an answer; ties go to the answer seen first.
 * The returned chain is the best-scored chain stating the winning answer.
 */
export function selectCandidate(candidates: readonly CandidateChain[], method: SelectionMethod): Selection {
  checkSelection(method, 'selectCandidate');
  const tally = tallyAnswers(candidates);
  const answered = candidates.filter((c) => c.answer !== undefined);
  const pool = answered.length > 0 ? answered : candidates;
  if (pool.length === 0) return { tally };
  if (method === 'best' || tally.length === 0) {
    const chain = [...pool].sort(byScoreDesc)[0];
    return { chain, answer: chain.answer, tally };
  }
  let win = tally[0];
  for (const t of tally) {
    const better = method === 'majority' ? t.count > win.count : t.weight > win.weight;
    if (better) win = t;
  }
  const key = canonicalAnswer(win.answer);
  const chain = answered.filter((c) => canonicalAnswer(c.answer!) === key).sort(byScoreDesc)[0];
  return { chain, answer: win.answer, tally };
}
