// PRM800K reader on records written in the exact format of OpenAI's README (and the object
// form of human_completion found in the released phase-1 files).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  parsePrm800kRecord,
  prm800kAsProcessBench,
  prm800kChains,
  readPrm800k,
  streamPrm800k,
} from '../../lib/eval/prm800k/index.js';
import type { Prm800kRecord, Prm800kStep } from '../../lib/eval/prm800k/index.js';
import { computeMetrics } from '../../lib/eval/processbench/index.js';
import { runEval } from './helpers.js';

const c = (text: string, rating: -1 | 0 | 1 | null, flagged: boolean | null = false) => ({ text, rating, flagged });
const step = (completions: ReturnType<typeof c>[], chosen: number | null, human: Prm800kStep['human_completion'] = null): Prm800kStep => ({
  completions,
  human_completion: human,
  chosen_completion: chosen,
});

function record(steps: Prm800kStep[], finish: Prm800kRecord['label']['finish_reason'], extra: Partial<Prm800kRecord> = {}): Prm800kRecord {
  return {
    labeler: '340d89bc-f5b7-45e9-b272-909ba68ee363',
    timestamp: '2023-01-22T04:34:27.052924',
    generation: 9,
    is_quality_control_question: false,
    is_initial_screening_question: false,
    question: {
      problem: 'What is $2 + 3 \\cdot 4$?',
      ground_truth_solution: 'Multiplication first: $3 \\cdot 4 = 12$, so $2 + 12 = \\boxed{14}$.',
      ground_truth_answer: '14',
      pre_generated_steps: ['First 3 times 4 is 12.', 'Then 2 + 12 = 14.\n\n# Answer\n\n14'],
      pre_generated_answer: '14',
      pre_generated_verifier_score: 0.93,
    },
    label: { steps, total_time: 51234, finish_reason: finish },
    ...extra,
  };
}

// phase 2 style: labelled up to the first mistake; the wrong step is not chosen
const foundError = record(
  [
    step([c('I need to multiply first.', 0)], 0),
    step([c('3 times 4 is 12.', 1)], 0),
    step([c('2 + 12 = 15.', -1, null), c('2 + 12 = 14.', 1), c('Hmm.', 0)], null),
  ],
  'found_error',
);
// a full solution with alternatives at step 1
const solution = record(
  [
    step([c('3 times 4 is 12.', 1)], 0),
    step([c('2 + 12 = 15.', -1), c('So 2 + 12 = 14.\n\n# Answer\n\n14', 1), c('Adding 2.', 0)], 1),
  ],
  'solution',
  { generation: null },
);
// phase 1 with a labeler-written step (object form) after every candidate was rejected
const human = record(
  [
    step([c('2 + 3 is 5.', -1), c('5 times 4 is 20.', -1)], null, {
      text: 'Multiplication comes first: 3 times 4 is 12.',
      rating: null,
      source: 'human',
      flagged: false,
      corrected_rating: null,
    }),
    step([c('Then 2 + 12 = 14.\n\n# Answer\n\n14', 1)], 0),
  ],
  'solution',
  { generation: null },
);
const humanString = record([step([c('Wrong.', -1)], null, 'A human step.'), step([c('Done.', 1)], 0)], 'solution');
// gave up after two neutral steps: nothing chosen at the third
const giveUp = record([step([c('Let me think.', 0)], 0), step([c('Maybe.', 0)], 0), step([c('Perhaps?', 0), c('Hmm', 0)], null)], 'give_up');
const badProblem = record([step([c('This is unclear.', 0)], 0)], 'bad_problem');

describe('PRM800K records to chains', () => {
  it('found_error: supervision ends at the first -1, which is the earliest error', () => {
    const [chain, ...rest] = prm800kChains(foundError, 'p2:1');
    expect(rest).toEqual([]);
    expect(chain!.steps).toEqual(['I need to multiply first.', '3 times 4 is 12.', '2 + 12 = 15.']);
    expect(chain!.ratings).toEqual([0, 1, -1]);
    expect(chain!.labels).toEqual([true, true, false]);
    expect(chain!.firstError).toBe(2);
    expect(chain!.groundTruthAnswer).toBe('14');
    expect(chain!.finishReason).toBe('found_error');
  });

  it('neutral counted as incorrect ends supervision at the first 0', () => {
    const [chain] = prm800kChains(foundError, 'p2:1', { neutralIsCorrect: false });
    expect(chain!.steps).toEqual(['I need to multiply first.']);
    expect(chain!.labels).toEqual([false]);
    expect(chain!.firstError).toBe(0);
  });

  it('solution: follows chosen_completion; alternatives become their own chains', () => {
    expect(prm800kChains(solution, 's:1')).toHaveLength(1);
    const chains = prm800kChains(solution, 's:1', { alternatives: true });
    expect(chains.map((x) => x.id)).toEqual(['s:1', 's:1/s1c0', 's:1/s1c2']);
    expect(chains[0]!.steps[1]).toContain('# Answer');
    expect(chains[0]!.firstError).toBe(-1);
    expect(chains[1]).toMatchObject({ steps: ['3 times 4 is 12.', '2 + 12 = 15.'], labels: [true, false], firstError: 1, alternative: { step: 1, completion: 0 } });
    expect(chains[2]).toMatchObject({ ratings: [1, 0], labels: [true, true], firstError: -1 });
  });

  it('null chosen_completion with a human_completion (object or string) follows the human step', () => {
    const [chain] = prm800kChains(human, 'p1:3');
    expect(chain!.steps).toEqual(['Multiplication comes first: 3 times 4 is 12.', 'Then 2 + 12 = 14.\n\n# Answer\n\n14']);
    expect(chain!.ratings).toEqual([1, 1]);
    expect(chain!.humanSteps).toEqual([0]);
    expect(chain!.firstError).toBe(-1);
    const [s] = prm800kChains(humanString, 'p1:4');
    expect(s!.steps).toEqual(['A human step.', 'Done.']);
    // the rejected model candidates at the human step are still supervision, as alternatives
    const alts = prm800kChains(human, 'p1:3', { alternatives: true }).filter((x) => x.alternative);
    expect(alts.map((x) => [x.steps, x.firstError])).toEqual([
      [['2 + 3 is 5.'], 0],
      [['5 times 4 is 20.'], 0],
    ]);
  });

  it("humanSteps 'stop' keeps only model-written text", () => {
    expect(prm800kChains(human, 'p1:3', { humanSteps: 'stop' })).toEqual([]);
  });

  it('give_up keeps the labelled prefix; bad_problem is skipped unless asked for', () => {
    const [g] = prm800kChains(giveUp, 'g:1');
    expect(g!.steps).toEqual(['Let me think.', 'Maybe.']);
    expect(g!.firstError).toBe(-1);
    expect(g!.finishReason).toBe('give_up');
    expect(prm800kChains(badProblem, 'b:1')).toEqual([]);
    expect(prm800kChains(badProblem, 'b:1', { finishReasons: ['bad_problem'] })).toHaveLength(1);
    expect(prm800kChains(giveUp, 'g:1', { finishReasons: ['solution'] })).toEqual([]);
  });

  it('an unrated chosen step ends supervision before it', () => {
    const r = record([step([c('ok', 1)], 0), step([c('unrated', null)], 0), step([c('later', 1)], 0)], 'give_up');
    expect(prm800kChains(r, 'u:1')[0]!.steps).toEqual(['ok']);
  });

  it('skips control questions on request', () => {
    const qc = { ...solution, is_quality_control_question: true };
    expect(prm800kChains(qc, 'q:1')).toHaveLength(1);
    expect(prm800kChains(qc, 'q:1', { skipControlQuestions: true })).toEqual([]);
  });
});

describe('PRM800K validation', () => {
  const json = (r: unknown) => JSON.parse(JSON.stringify(r));
  it('accepts the README format', () => {
    expect(parsePrm800kRecord(json(foundError)).label.steps).toHaveLength(3);
  });
  it('names the bad field', () => {
    const bad = json(foundError);
    bad.label.steps[1].completions[0].rating = 2;
    expect(() => parsePrm800kRecord(bad, 'f.jsonl:7')).toThrow(/f.jsonl:7: label.steps\[1\].completions\[0\].rating: must be -1, 0, 1 or null, got 2/);
    const idx = json(foundError);
    idx.label.steps[0].chosen_completion = 4;
    expect(() => parsePrm800kRecord(idx)).toThrow(/chosen_completion: must be null or an index below 1, got 4/);
    const fin = json(foundError);
    fin.label.finish_reason = 'done';
    expect(() => parsePrm800kRecord(fin)).toThrow(/finish_reason: must be one of found_error, solution, bad_problem, give_up/);
    const q = json(foundError);
    delete q.question.problem;
    expect(() => parsePrm800kRecord(q)).toThrow(/question.problem/);
    expect(() => parsePrm800kRecord([])).toThrow(TypeError);
  });
  it('rejects bad options', () => {
    expect(() => prm800kChains(solution, 'x', { humanSteps: 'maybe' as never })).toThrow(/humanSteps/);
    expect(() => prm800kChains(solution, 'x', { finishReasons: ['nope' as never] })).toThrow(RangeError);
  });
});

describe('PRM800K files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prmkit-prm800k-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'phase2_test.jsonl');
  writeFileSync(file, [foundError, solution, human, humanString, giveUp, badProblem].map((r) => JSON.stringify(r)).join('\n') + '\n');

  it('reads a jsonl file with counts and line-numbered ids', async () => {
    const { chains, stats } = await readPrm800k(file, { alternatives: true });
    expect(stats.records).toBe(6);
    expect(stats.byFinishReason).toEqual({ found_error: 1, solution: 3, bad_problem: 1, give_up: 1 });
    expect(stats.skipped).toBe(1);
    expect(stats.chains).toBe(5);
    expect(stats.alternatives).toBe(chains.length - 5);
    expect(chains[0]!.id).toBe('phase2_test:1');
    const streamed = [];
    for await (const ch of streamPrm800k(file, { limit: 2 })) streamed.push(ch.id);
    expect(streamed).toEqual(['phase2_test:1', 'phase2_test:2']);
  });

  it('names file and line of a malformed record', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify(solution) + '\n{"labeler": 1}\n');
    await expect(readPrm800k(bad)).rejects.toThrow(/bad.jsonl:2: labeler/);
  });

  it('chains evaluate like a ProcessBench subset', async () => {
    const { chains } = await readPrm800k(file);
    const subset = prm800kAsProcessBench('prm800k', chains);
    const m = computeMetrics([subset], new Map(subset.records.map((r) => [r.id, r.label])));
    expect(m.subsets[0]!.f1).toBe(100);
    expect(subset.records.find((r) => r.id === 'phase2_test:1')!.label).toBe(2);
  });

  it('CLI converts to JSON Lines', async () => {
    const out = join(dir, 'chains.jsonl');
    const r = await runEval(['prm800k', '--input', file, '--output', out, '--neutral', 'incorrect']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/records 6 \(found_error 1, solution 3, give_up 1, bad_problem 1\); skipped 1/);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ id: 'phase2_test:1', firstError: 0 });
    const bad = await runEval(['prm800k', '--input', file, '--neutral', 'maybe']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--neutral must be one of 'correct', 'incorrect', got "maybe" \(string\)/);
  });
});
