// Eval options are checked like the rest of prmkit: an unknown key is an error naming the
// nearest known key (a misspelt `batchsize` would otherwise silently evaluate with 32), and
// messages show the value with its type. Everything fails before a scorer or generator call.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDetector, firstDrop } from '../../lib/eval/detectors.js';
import { readPrm800k } from '../../lib/eval/prm800k/index.js';
import { evaluateProcessBench, evaluateStepProbs, readProcessBench } from '../../lib/eval/processbench/index.js';
import type { ProcessBenchSubset } from '../../lib/eval/processbench/index.js';
import { scoreChains } from '../../lib/eval/score.js';
import { labelSteps } from '../../lib/eval/shepherd/index.js';
import type { Generator, StepScorer } from '../../lib/interfaces.js';

let scored = 0;
const scorer: StepScorer = {
  name: 'half',
  async score(items) {
    scored += items.length;
    return items.map((it) => ({ stepProbs: it.steps.map(() => 0.5) }));
  },
};
let generated = 0;
const generator: Generator = {
  name: 'never',
  async generate(requests) {
    generated++;
    return requests.map(() => []);
  },
};
const subset: ProcessBenchSubset = {
  name: 'toy',
  records: [{ id: 'a', generator: 't', problem: 'p', steps: ['x', 'y'], final_answer_correct: false, label: 1 }],
};
const dir = mkdtempSync(join(tmpdir(), 'prmkit-eval-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('eval options', () => {
  it('evaluateProcessBench and scoreChains refuse a typo before scoring', async () => {
    scored = 0;
    await expect(evaluateProcessBench([subset], { scorer, batchsize: 8 } as never)).rejects.toThrow(/^options\.batchsize is not an option; did you mean 'batchSize'\?/);
    await expect(evaluateProcessBench([subset], { scorer, tuneon: 'toy' } as never)).rejects.toThrow(/did you mean 'tuneOn'\?/);
    await expect(scoreChains(scorer, [{ id: 'a', problem: 'p', steps: [] }], { concurency: 2 } as never)).rejects.toThrow(/did you mean 'concurrency'\?/);
    expect(scored).toBe(0);
    // the keys it documents still work together
    const run = await evaluateProcessBench([subset], { scorer, batchSize: 1, concurrency: 1, detector: { kind: 'threshold', threshold: 0.6 } });
    expect(run.predictions.get('a')).toBe(0);
  });

  it('detectors and decisions', () => {
    const probs = new Map([['a', [0.5, 0.5]]]);
    expect(() => evaluateStepProbs([subset], probs, { detecter: { kind: 'threshold', threshold: 0.5 } } as never)).toThrow(/did you mean 'detector'\?/);
    expect(() => createDetector({ kind: 'threshold', treshold: 0.5 } as never)).toThrow(/detector\.treshold is not an option; did you mean 'threshold'\?/);
    expect(() => createDetector({ kind: 'first-dorp' } as never)).toThrow(/detector\.kind must be one of 'threshold', 'first-drop' \(did you mean 'first-drop'\?\), got "first-dorp" \(string\)/);
    expect(() => firstDrop([0.9], { raito: 0.5 } as never)).toThrow(/did you mean 'ratio'\?/);
    expect(() => createDetector({ kind: 'first-drop', ratio: 0 })).toThrow('detector.ratio must be a number in (0, 1], got 0 (number)');
  });

  it('readers', async () => {
    writeFileSync(join(dir, 'toy.json'), JSON.stringify(subset.records));
    await expect(readProcessBench(dir, { limt: 1 } as never)).rejects.toThrow(/did you mean 'limit'\?/);
    await expect(readProcessBench(dir, { limit: '1' } as never)).rejects.toThrow('limit must be a positive integer, got "1" (string)');
    expect((await readProcessBench(dir, { limit: 1 }))[0]!.records).toHaveLength(1);
    writeFileSync(join(dir, 'empty.jsonl'), '');
    await expect(readPrm800k(join(dir, 'empty.jsonl'), { alternative: true } as never)).rejects.toThrow(/did you mean 'alternatives'\?/);
    await expect(readPrm800k(join(dir, 'empty.jsonl'), { finishReasons: ['solutoin'] } as never)).rejects.toThrow(
      /finishReasons\[0\] must be one of .*\(did you mean 'solution'\?\), got "solutoin" \(string\)/,
    );
  });

  it('labelSteps refuses a typo before any rollout', async () => {
    generated = 0;
    const chains = [{ id: 'c', problem: 'p', steps: ['s'], goldAnswer: '1' }];
    await expect(labelSteps(chains, { generator, maxRollouts: 4 } as never)).rejects.toThrow(/options\.maxRollouts is not an option; did you mean 'maxRolloutSteps'\?/);
    await expect(labelSteps(chains, { generator, n: 1.5 })).rejects.toThrow('n must be a positive integer, got 1.5 (number)');
    await expect(labelSteps(chains, { generator, ifExists: 'resum' } as never)).rejects.toThrow(/did you mean 'resume'\?/);
    expect(generated).toBe(0);
  });
});
