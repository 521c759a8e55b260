// Compute budgets. A strategy asks how many continuations it may request before each
// generator call, so a budget is never exceeded: with a token budget every continuation is
// charged its worst case (maxStepTokens) up front, then the tokens actually generated.

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

export function checkBudget(budget: unknown, owner: string): SearchBudget {
  if (budget === undefined) return {};
  if (budget === null || typeof budget !== 'object') throw new TypeError(`${owner}: options.budget must be an object`);
  const b = budget as SearchBudget;
  for (const key of Object.keys(b)) {
    if (key !== 'tokens' && key !== 'generatorCalls' && key !== 'completions')
      throw new TypeError(`${owner}: options.budget.${key} is not a budget (use tokens, generatorCalls or completions)`);
    const v = b[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) throw new RangeError(`${owner}: options.budget.${key} must be a non-negative integer, got ${String(v)}`);
  }
  return { ...b };
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
