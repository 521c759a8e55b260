// Compute budgets. A strategy asks how many continuations it may request before each
// generator call, so a budget is never exceeded: with a token budget every continuation is
// charged its worst case (maxStepTokens) up front, then the tokens actually generated.
import { keysOf, knownKeys, nonNegativeInt, object } from '../../is.js';

export interface SearchBudget {
  /** Total generated tokens. */
  tokens?: number;
  /** Generator invocations (each may hold many prefixes and samples). */
  generatorCalls?: number;
  /** Proposed steps (continuations) in total. */
  completions?: number;
}

export interface SearchUsage {
  generatorCalls: number;
  completions: number;
  tokens: number;
  scorerCalls: number;
  /** Chains sent to the scorer. */
  scoredChains: number;
  /** Steps the scorer had to judge that it had not judged before in this search. */
  newSteps: number;
}

const BUDGET_KEYS = keysOf<SearchBudget>()({ tokens: true, generatorCalls: true, completions: true });

export function checkBudget(budget: unknown, owner: string): SearchBudget {
  if (budget === undefined) return {};
  const b = object(budget, `${owner}: options.budget`);
  knownKeys(b, BUDGET_KEYS, `${owner}: options.budget`);
  for (const key of BUDGET_KEYS) if (b[key] !== undefined) nonNegativeInt(b[key], `${owner}: options.budget.${key}`);
  return { ...(b as SearchBudget) };
}

export class BudgetTracker {
  readonly usage: SearchUsage = { generatorCalls: 0, completions: 0, tokens: 0, scorerCalls: 0, scoredChains: 0, newSteps: 0 };

  constructor(
    readonly budget: SearchBudget,
    private readonly maxStepTokens: number,
  ) {}

  /** How many continuations the next generator call may ask for (0: the budget is spent). */
  capacity(): number {
    const { tokens, generatorCalls, completions } = this.budget;
    if (generatorCalls !== undefined && this.usage.generatorCalls >= generatorCalls) return 0;
    let cap = Infinity;
    if (completions !== undefined) cap = Math.min(cap, completions - this.usage.completions);
    if (tokens !== undefined) cap = Math.min(cap, Math.floor((tokens - this.usage.tokens) / this.maxStepTokens));
    return Math.max(0, cap);
  }

  charge(continuations: number, tokens: number): void {
    this.usage.generatorCalls++;
    this.usage.completions += continuations;
    this.usage.tokens += tokens;
  }
}
