// What `prmkit score` and `prmkit eval processbench` do to the user's files and lines: an
// output that is not a prmkit output is never changed (not even by a run that fails early),
// resume appends, file failures are one line with an exit code, ids are normalized and
// duplicates named, and --skip-invalid skips every bad line, including those the model refuses,
// by input line number, while keeping every valid result.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { prmkit } from './helpers.js';
import { itWhen } from '../helpers/index.js';

let dir: string;
let tiny: TinyModel;
let model: string[];
let prm: Prm;

const chain = (i: number, extra: Record<string, unknown> = {}) => ({ id: `c${i}`, problem: `Compute ${i} + 1.`, steps: [`${i} + 1 = ${i + 1}`, `the answer is ${i + 1}`], ...extra });
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
const ids = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prmkit-files-'));
  tiny = await createTinyModel({ dir: join(dir, 'model'), seed: 7 });
  model = ['-m', tiny.model, '-t', tiny.tokenizer, '--head', tiny.head!, '-f', 'math-shepherd'];
  prm = await Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd' });
  writeFileSync(join(dir, 'in.jsonl'), jsonl([0, 1, 2, 3].map((i) => chain(i))));
});

afterAll(async () => {
  await prm?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the output file', () => {
  it('is refused, unchanged, when it is not a prmkit score output, whatever else is wrong', async () => {
    const cases = ['{"config": true}', '{"a": 1}\n{"b": 2}', '{"a": 1}\n{"b": 2}\n', 'plain text\n'];
    for (const [k, content] of cases.entries()) {
      const out = join(dir, `foreign-${k}.json`);
      writeFileSync(out, content);
      // a wrong model path first: the output is checked before the model is opened
      const wrong = await prmkit(['score', '-m', join(dir, 'nope.onnx'), '-t', tiny.tokenizer, '-f', 'math-shepherd', '-i', join(dir, 'in.jsonl'), '-o', out]);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toBe(`prmkit score: output ${out} line 1 is not a line of a prmkit score output; refusing to write to it (move it away or choose another --output)\n`);
      const right = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out]);
      expect(right.code).toBe(1);
      expect(readFileSync(out, 'utf8')).toBe(content);
    }
  });

  it('keeps a cut last line until the model is open: a failing run changes nothing', async () => {
    const full = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl')]);
    const out = join(dir, 'cut.jsonl');
    const content = full.stdout.split('\n').slice(0, 2).join('\n') + '\n{"id":"c2","sco';
    writeFileSync(out, content);
    const wrong = await prmkit(['score', '-m', join(dir, 'nope.onnx'), '-t', tiny.tokenizer, '-f', 'math-shepherd', '-i', join(dir, 'in.jsonl'), '-o', out]);
    expect(wrong.code).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe(content);
    const right = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out]);
    expect(right.code).toBe(0);
    // resume appends: the two whole lines stay byte for byte, the cut one is written again
    const text = readFileSync(out, 'utf8');
    expect(text.startsWith(content.slice(0, content.lastIndexOf('\n') + 1))).toBe(true);
    expect(text).toBe(full.stdout);
  });

  it('ends a whole last line that lacks its newline before appending', async () => {
    const full = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl')]);
    const out = join(dir, 'nonl.jsonl');
    writeFileSync(out, full.stdout.split('\n')[0]!);
    expect((await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out])).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(full.stdout);
  });

  it('reports file failures in one line with exit 1', async () => {
    const missing = join(dir, 'no', 'such', 'out.jsonl');
    const a = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', missing]);
    expect(a).toMatchObject({ code: 1, stderr: `prmkit score: cannot create output ${missing}: no such file or directory (ENOENT)\n` });
    mkdirSync(join(dir, 'adir'), { recursive: true });
    const b = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', join(dir, 'adir')]);
    expect(b).toMatchObject({ code: 1, stderr: `prmkit score: cannot write output ${join(dir, 'adir')}: is a directory (EISDIR)\n` });
    const same = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', join(dir, 'in.jsonl')]);
    expect(same.code).toBe(1);
    expect(readFileSync(join(dir, 'in.jsonl'), 'utf8')).toBe(jsonl([0, 1, 2, 3].map((i) => chain(i))));
  });

  itWhen(existsSync('/dev/full'), 'a full device is ENOSPC in one line, and the device is never read', 'this system has no /dev/full', async () => {
    const r = await prmkit(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', '/dev/full']);
    expect(r).toMatchObject({ code: 1, stderr: 'prmkit score: cannot write output /dev/full: no space left on the device (ENOSPC)\n' });
  });
});

describe('ids', () => {
  it('1 and "1" are one id, and a duplicate is an error naming both lines', async () => {
    const input = jsonl([chain(0, { id: 1 }), chain(1, { id: '1' }), chain(2, { id: 2 })]);
    const r = await prmkit(['score', ...model], input);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('prmkit score: input line 2: id "1" is also the id of line 1; give each chain its own id\n');
    expect(ids(r.stdout)).toEqual(['1']); // the line before it is scored and written
  });

  it('an explicit "line-3" and line 3 without an id collide and are named', async () => {
    const input = jsonl([chain(0, { id: 'line-3' }), chain(1), { problem: 'p', steps: ['s'] }]);
    const r = await prmkit(['score', ...model], input);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('input line 3: id "line-3" is also the id of line 1');
    const skip = await prmkit(['score', ...model, '--skip-invalid'], input);
    expect(skip.code).toBe(0);
    expect(ids(skip.stdout)).toEqual(['line-3', 'c1']);
    expect(skip.stderr).toContain('prmkit score: skipping input line 3: id "line-3" is also the id of line 1');
  });

  it('an id that is neither a string nor a number is a bad line', async () => {
    const r = await prmkit(['score', ...model, '--skip-invalid'], jsonl([chain(0, { id: { a: 1 } }), chain(1, { id: '' }), chain(2, { id: 2.5 })]));
    expect(ids(r.stdout)).toEqual(['2.5']);
    expect(r.stderr).toContain('input line 1: id must be a non-empty string or a number, got an object (Object)');
    expect(r.stderr).toContain('input line 2: id must be a non-empty string or a number, got "" (string)');
  });
});

describe('lines the model refuses', () => {
  // 70 lines in batches of 64: line 70 is the sixth chain of the second batch
  const rows = Array.from({ length: 70 }, (_, i) => chain(i));
  rows[69] = chain(69, { steps: ['fine', 'a step with the tag ки inside'] });
  rows[9] = chain(9, { steps: ['x'.repeat(400)] });

  it('names the input line of a rejected chain, not its place in the batch, after writing every line before it', async () => {
    const r = await prmkit(['score', ...model, '--batch-size', '64'], jsonl(rows.map((x, i) => (i === 9 ? chain(9) : x))));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^prmkit score: input line 70: steps\[1\] contains "ки", which math-shepherd uses to mark steps/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(ids(r.stdout)).toEqual(rows.slice(0, 69).map((x) => x.id));
  });

  it('--skip-invalid skips the separator line and the over-context line, and keeps every valid result', async () => {
    const input = join(dir, 'rejects.jsonl');
    writeFileSync(input, jsonl(rows));
    const out = join(dir, 'rejects-out.jsonl');
    const r = await prmkit(['score', ...model, '--batch-size', '64', '--max-context', '200', '--skip-invalid', '-i', input, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/prmkit score: skipping input line 10: is \d+ tokens, over maxContext 200/);
    expect(r.stderr).toMatch(/prmkit score: skipping input line 70: steps\[1\] contains "ки"/);
    expect(r.stderr).toContain('scored 68 chains, skipped 2 invalid lines');
    const kept = rows.filter((_, i) => i !== 9 && i !== 69);
    const got = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(got.map((x) => x.id)).toEqual(kept.map((x) => x.id));
    const direct = await prm.score(kept);
    got.forEach((x, i) => expect(x.score).toBeCloseTo(direct[i]!.score, 6));
  });
});

describe('eval processbench with a model', () => {
  const data = () => join(dir, 'pb');
  const records = Array.from({ length: 6 }, (_, i) => ({
    id: `t-${i}`,
    generator: 'test',
    problem: `Compute ${i} * 2.`,
    steps: i === 3 ? ['a long step '.repeat(30), `${i} * 2 = ${i * 2}`] : [`${i} * 2 = ${i * 2}`, `so ${i * 2}`],
    final_answer_correct: i % 2 === 0,
    label: i % 2 === 0 ? -1 : 1,
  }));

  beforeAll(() => {
    mkdirSync(data(), { recursive: true });
    writeFileSync(join(data(), 'tiny.json'), JSON.stringify(records));
  });

  it('finishes with a short context (--overflow truncate), keeps finished scores when a run fails, and resumes from them', async () => {
    const tokens = prm.countTokens(records);
    const context = Math.max(...tokens.filter((_, i) => i !== 3)) + 1;
    expect(tokens[3]).toBeGreaterThan(context);
    const scores = join(dir, 'pb-scores.jsonl');
    const args = ['eval', 'processbench', '--data', data(), ...model, '--max-context', String(context), '--batch-size', '2', '--scores', scores];

    // record t-3 is in the second batch: the first batch is kept, the run fails naming t-3
    const failed = await prmkit([...args, '--json', '-']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('the scores finished so far are in');
    expect(failed.stderr).toMatch(/prmkit eval: ProcessBench record t-3: is \d+ tokens, over maxContext/);
    expect(ids(readFileSync(scores, 'utf8'))).toEqual(['t-0', 't-1']);

    const done = await prmkit([...args, '--overflow', 'truncate']);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain("2 chains' scores read back from");
    expect(done.stdout).toContain('1 chains were longer than the context');
    expect(ids(readFileSync(scores, 'utf8'))).toEqual(records.map((r) => r.id));

    // the same decisions from the library: threshold 0.5, steps past the context not wrong
    const truncating = await Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd', maxContext: context, overflow: 'truncate' });
    try {
      const direct = await truncating.score(records);
      expect(direct[3]!.truncated).toBe(true);
      const predicted = direct.map((s) => s.stepProbs.findIndex((p) => p < 0.5));
      const erroneous = records.filter((r) => r.label >= 0);
      const hits = erroneous.filter((r) => predicted[records.indexOf(r)] === r.label).length;
      const json = await prmkit([...args, '--overflow', 'truncate', '--json', '-']);
      const report = JSON.parse(json.stdout);
      expect(report.subsets[0].erroneous).toMatchObject({ total: erroneous.length, hits });
      expect(report.subsets[0].correct.hits).toBe(records.filter((r, i) => r.label < 0 && predicted[i] === -1).length);
      expect(report.source).toBe(`model ${truncating.name}`);
      // the scores name their model: another scorer never reuses them
      const other = await prmkit(['eval', 'processbench', '--data', data(), '--scorer', 'oracle', '--scores', scores]);
      expect(other.code).toBe(1);
      expect(other.stderr).toBe(`prmkit eval: scores ${scores} hold step probabilities from ${truncating.name}, not oracle; choose another --scores file\n`);
    } finally {
      await truncating.close();
    }
  });

  it('never replaces a --json or --write-predictions file it did not write', async () => {
    const report = join(dir, 'mine.json');
    writeFileSync(report, '{"my": "notes"}');
    const r = await prmkit(['eval', 'processbench', '--data', data(), '--scorer', 'oracle', '--json', report]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`report ${report} exists and is not one prmkit wrote; refusing to replace it`);
    expect(readFileSync(report, 'utf8')).toBe('{"my": "notes"}');
    // one it wrote is replaced
    const ours = join(dir, 'ours.json');
    expect((await prmkit(['eval', 'processbench', '--data', data(), '--scorer', 'oracle', '--json', ours])).code).toBe(0);
    expect((await prmkit(['eval', 'processbench', '--data', data(), '--scorer', 'always-correct', '--json', ours])).code).toBe(0);
    expect(JSON.parse(readFileSync(ours, 'utf8')).source).toBe('scorer always-correct');
  });
});
