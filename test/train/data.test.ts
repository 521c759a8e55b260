// Training data in: each layout prmkit reads becomes PRM items (a label per step) or ORM items
// (an outcome), and a bad record is an error naming the file, line and field before anything
// else is read into a model.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PrmInputError } from '../../lib/errors.js';
import { readTrainData } from '../../lib/train/index.js';
import type { OrmTrainItem, PrmTrainItem } from '../../lib/train/index.js';
import { checkTrainData } from '../../lib/train/data.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-traindata-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(lines: unknown[], raw = false): string {
  const p = join(dir, `d${n++}.jsonl`);
  writeFileSync(p, lines.map((l) => (raw ? String(l) : JSON.stringify(l))).join('\n') + '\n');
  return p;
}

describe('layouts', () => {
  it('JSONL with step labels: booleans, soft labels and null (not trained on)', async () => {
    const p = file([JSON.stringify({ problem: 'p', steps: ['a', 'b', 'c'], labels: [true, 0.25, null] }), '', JSON.stringify({ problem: 'q', steps: ['x'], labels: [false], id: 'q1' })], true);
    const d = await readTrainData(p);
    expect(d.kind).toBe('prm');
    expect(d.source).toBe('jsonl');
    expect((d.items as PrmTrainItem[]).map((i) => i.labels)).toEqual([[true, 0.25, null], [false]]);
    expect(d.where!(1)).toBe(`${p}:3`);
  });

  it('JSONL with outcome labels is ORM data; a line may carry both', async () => {
    const orm = await readTrainData(file([{ problem: 'p', solution: 'it is 4', label: true }, { problem: 'p', steps: ['a'], label: 0.5 }]));
    expect(orm.kind).toBe('orm');
    expect((orm.items as OrmTrainItem[]).map((i) => i.label)).toEqual([true, 0.5]);
    const both = file([{ problem: 'p', steps: ['a', 'b'], labels: [true, false], label: false }]);
    expect((await readTrainData(both)).kind).toBe('prm');
    expect(((await readTrainData(both, { kind: 'orm' })).items[0] as OrmTrainItem).label).toBe(false);
  });

  it('labelSteps output: hard or soft labels per step; as ORM data the last step judges the outcome', async () => {
    const p = file([{ id: 'c1', problem: 'p', steps: ['a', 'b'], goldAnswer: '4', hardLabels: [true, false], softLabels: [0.75, 0], correct: [3, 0], rollouts: [4, 0], generatedTokens: 9, requests: 1 }]);
    expect(((await readTrainData(p)).items[0] as PrmTrainItem).labels).toEqual([true, false]);
    expect(((await readTrainData(p, { labels: 'soft' })).items[0] as PrmTrainItem).labels).toEqual([0.75, 0]);
    const orm = await readTrainData(p, { kind: 'orm' });
    expect(orm.items[0]).toMatchObject({ problem: 'p', steps: ['a', 'b'], label: 0, id: 'c1' });
  });

  it('a ProcessBench directory: steps up to the first wrong one; the outcome is final_answer_correct', async () => {
    const pb = join(dir, 'pb');
    mkdirSync(pb);
    writeFileSync(join(pb, 'gsm8k.json'), JSON.stringify([
      { id: 'g1', generator: 'x', problem: 'p', steps: ['a', 'b', 'c'], final_answer_correct: false, label: 1 },
      { id: 'g2', generator: 'x', problem: 'q', steps: ['a', 'b'], final_answer_correct: true, label: -1 },
    ]));
    const prm = await readTrainData(pb);
    expect(prm.source).toBe('processbench');
    expect(prm.items.map((i) => [i.steps, (i as PrmTrainItem).labels])).toEqual([[['a', 'b'], [true, false]], [['a', 'b'], [true, true]]]);
    expect((await readTrainData(pb, { kind: 'orm' })).items.map((i) => (i as OrmTrainItem).label)).toEqual([false, true]);
  });

  it('PRM800K records: the labelled trajectory per record', async () => {
    const step = (text: string, rating: number) => ({ completions: [{ text, rating, flagged: false }], human_completion: null, chosen_completion: 0 });
    const rec = {
      labeler: 'l', timestamp: 't', generation: 1, is_quality_control_question: false, is_initial_screening_question: false,
      question: { problem: 'What is 2+2?', ground_truth_answer: '4' },
      label: { steps: [step('2+2 = 4.', 1), step('# Answer\n\n4', 1)], total_time: 1, finish_reason: 'solution' },
    };
    const d = await readTrainData(file([rec]));
    expect(d.source).toBe('prm800k');
    expect(d.items[0]).toMatchObject({ problem: 'What is 2+2?', steps: ['2+2 = 4.', '# Answer\n\n4'], labels: [true, true] });
    expect((await readTrainData(file([rec]), { kind: 'orm' })).items[0]).toMatchObject({ label: true });
  });

  it('limit reads the first records only', async () => {
    const p = file([1, 2, 3].map((i) => ({ problem: `p${i}`, steps: ['a'], labels: [true] })));
    expect((await readTrainData(p, { limit: 2 })).items).toHaveLength(2);
  });
});

describe('bad records name the line and field', () => {
  const cases: Array<[string, unknown[], RegExp, boolean?]> = [
    ['a label out of range', [{ problem: 'p', steps: ['a'], labels: [true] }, { problem: 'p', steps: ['a', 'b'], labels: [true, 2] }], /:2: labels\[1\] must be a boolean or a number in \[0, 1\], got 2 \(number\)/],
    ['a label of the wrong kind', [{ problem: 'p', steps: ['a'], labels: ['yes'] }], /:1: labels\[0\] must be a boolean or a number in \[0, 1\], got "yes"/],
    ['one label too few', [{ problem: 'p', steps: ['a', 'b'], labels: [true] }], /:1: labels has 1 entries for 2 steps/],
    ['a step that is not text', [{ problem: 'p', steps: ['a', 3], labels: [true, true] }], /:1: steps\[1\] must be a string, got 3/],
    ['a missing problem', [{ steps: ['a'], labels: [true] }], /:1: problem must be a string, got undefined/],
    ['an ORM line without its outcome', [{ problem: 'p', solution: 's', label: true }, { problem: 'p', solution: 's' }], /:2: label is missing/],
    ['an ORM line with no solution', [{ problem: 'p', solution: 's', label: true }, { problem: 'p', label: true }], /:2: solution is missing/],
    ['invalid JSON', ['{"problem": "p", "steps": ["a"], "labels": [true]}', '{nope'], /:2: not valid JSON/, true],
    ['an unknown layout', [{ question: 'p' }], /:1: cannot tell the layout/],
  ];
  for (const [what, lines, message, raw] of cases)
    it(what, async () => {
      const p = file(lines, raw);
      await expect(readTrainData(p)).rejects.toThrow(message);
    });

  it('a PRM read of outcome-only lines says to train an ORM head', async () => {
    await expect(readTrainData(file([{ problem: 'p', solution: 's', label: true }]), { kind: 'prm' })).rejects.toThrow(/labels is missing: this line has an outcome label only; train an ORM head/);
  });

  it('items in memory are named by their path, as input errors', () => {
    let err: unknown;
    try {
      checkTrainData({ kind: 'prm', items: [{ problem: 'p', steps: ['a'], labels: [true] }, { problem: 'p', steps: ['a'], labels: [-0.5] }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PrmInputError);
    expect((err as PrmInputError).path).toBe('items[1].labels[0]');
    expect(() => checkTrainData({ kind: 'orm', items: [] })).toThrow(/empty/);
    expect(() => checkTrainData({ kind: 'rm' as 'prm', items: [] })).toThrow(/data.kind must be 'prm' or 'orm'/);
  });

  it('bad options and paths', async () => {
    await expect(readTrainData(join(dir, 'absent.jsonl'))).rejects.toThrow(/cannot read training data/);
    await expect(readTrainData(file([{ problem: 'p', steps: [], labels: [] }]), { labels: 'medium' as 'hard' })).rejects.toThrow(/options.labels/);
    await expect(readTrainData(file([{ problem: 'p', steps: [], labels: [] }]), { source: 'processbench' })).rejects.toThrow(/reads a directory/);
  });
});
