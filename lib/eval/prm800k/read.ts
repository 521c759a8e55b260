// Streams a PRM800K jsonl file into step-labelled chains, with a tally of what was kept.
import { basename } from 'node:path';
import { readJsonLines } from '../jsonl.js';
import type { ProcessBenchSubset } from '../processbench/read.js';
import { positiveInt, string } from '../../is.js';
import { checkChainOptions, prm800kChains } from './chains.js';
import type { Prm800kChain, Prm800kChainOptions } from './chains.js';
import { parsePrm800kRecord } from './parse.js';
import type { Prm800kFinishReason } from './types.js';

export interface Prm800kReadOptions extends Prm800kChainOptions {
  /** Prefix of chain ids (default: the file's base name without .jsonl); ids are `<prefix>:<line>`. */
  idPrefix?: string;
  /** Stop after this many records (lines). */
  limit?: number;
}

const READ_KEYS = ['idPrefix', 'limit'] as const;

export interface Prm800kStats {
  records: number;
  /** Records that produced no chain (filtered finish reason, control question, nothing labelled). */
  skipped: number;
  chains: number;
  alternatives: number;
  byFinishReason: Record<Prm800kFinishReason, number>;
}

function prefixFor(path: string, o: Prm800kReadOptions): string {
  if (o.idPrefix !== undefined) string(o.idPrefix, 'idPrefix');
  return o.idPrefix ?? basename(path).replace(/\.jsonl$/, '');
}

/** Yields the chains of each record in file order. */
export async function* streamPrm800k(path: string, options: Prm800kReadOptions = {}): AsyncGenerator<Prm800kChain> {
  const o = checkChainOptions(options, READ_KEYS);
  const prefix = prefixFor(path, options);
  const { limit } = options;
  if (limit !== undefined) positiveInt(limit, 'limit');
  let n = 0;
  for await (const { line, value } of readJsonLines(path)) {
    if (limit !== undefined && n >= limit) return;
    n++;
    const record = parsePrm800kRecord(value, `${path}:${line}`);
    yield* prm800kChains(record, `${prefix}:${line}`, o);
  }
}

/** Reads a whole file into chains and counts. */
export async function readPrm800k(path: string, options: Prm800kReadOptions = {}): Promise<{ chains: Prm800kChain[]; stats: Prm800kStats }> {
  const o = checkChainOptions(options, READ_KEYS);
  const prefix = prefixFor(path, options);
  const { limit } = options;
  if (limit !== undefined) positiveInt(limit, 'limit');
  const stats: Prm800kStats = {
    records: 0,
    skipped: 0,
    chains: 0,
    alternatives: 0,
    byFinishReason: { found_error: 0, solution: 0, bad_problem: 0, give_up: 0 },
  };
  const chains: Prm800kChain[] = [];
  for await (const { line, value } of readJsonLines(path)) {
    if (limit !== undefined && stats.records >= limit) break;
    const record = parsePrm800kRecord(value, `${path}:${line}`);
    stats.records++;
    stats.byFinishReason[record.label.finish_reason]++;
    const got = prm800kChains(record, `${prefix}:${line}`, o);
    if (got.length === 0) stats.skipped++;
    for (const c of got) {
      if (c.alternative) stats.alternatives++;
      else stats.chains++;
      chains.push(c);
    }
  }
  return { chains, stats };
}

/** PRM800K chains as a ProcessBench subset, so the same evaluator and metrics apply. */
export function prm800kAsProcessBench(name: string, chains: readonly Prm800kChain[]): ProcessBenchSubset {
  return {
    name,
    records: chains.map((c) => ({
      id: c.id,
      generator: 'prm800k',
      problem: c.problem,
      steps: c.steps,
      final_answer_correct: c.finishReason === 'solution' && c.firstError === -1,
      label: c.firstError,
    })),
  };
}
