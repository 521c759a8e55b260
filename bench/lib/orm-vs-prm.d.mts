// Types of orm-vs-prm.mjs, for the tests that import it.
export interface Rule {
  score?: string;
  selection: 'best' | 'majority' | 'weighted' | 'oracle';
}
export interface Candidate {
  answer?: string;
  correct: boolean;
  scores: Record<string, number>;
}
export interface FirstErrorF1 {
  threshold: number;
  erroneous: { total: number; hits: number };
  correct: { total: number; hits: number };
  erroneousAccuracy: number;
  correctAccuracy: number;
  f1: number;
}
export interface Comparison {
  rows: { N: number; gap: number; seedsAtLeast: number; seeds: number }[];
  atLeast: boolean;
  grows?: boolean;
  steady?: boolean;
  verdict: string[];
}

export function pickCorrect(cands: readonly Candidate[], rule: Rule): boolean;
export function subsampledAccuracy(pool: readonly Candidate[], N: number, rule: Rule): number;
export function chainScores(stepProbs: readonly number[]): { min: number; prod: number; last: number };
export function firstErrorF1(chains: readonly { verifier: readonly boolean[]; stepProbs: readonly number[] }[], threshold?: number): FirstErrorF1;
export function meanSpread(xs: readonly number[]): { mean: number; sd: number; min: number; max: number; n: number };
export function compareMethods(acc: (method: string, N: number) => readonly number[], a: string, b: string, Ns: readonly number[], options?: { growing?: boolean }): Comparison;
