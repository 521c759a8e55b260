// `prmkit eval label`: Math-Shepherd labelling from the command line, resumable, with the
// arithmetic task's generator and with an OpenAI-compatible completions server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGenerator, parseGeneratorSpec } from '../../lib/eval/generator-spec.js';
import { ArithmeticGenerator, createArithmeticProblems, solveArithmetic } from '../../lib/search/arithmetic.js';
import { runCli } from '../../lib/cli/run.js';
import { io, jsonServer, prmkit } from './helpers.js';

const runEval = (argv: string[]) => prmkit(['eval', ...argv]);

const dir = mkdtempSync(join(tmpdir(), 'prmkit-labelcli-'));

describe('prmkit eval label', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('labels arithmetic chains, resumes, and reports the cost', async () => {
    const problems = createArithmeticProblems(12, { seed: 4, steps: 3 });
    // half the chains are the correct solution, half have a wrong first step
    const lines = problems.map((p, i) => {
      const steps = solveArithmetic(p);
      if (i % 2) steps[0] = steps[0]!.replace(/= (-?\d+)$/, (_, c) => `= ${Number(c) + 7}`);
      return JSON.stringify({ id: p.id, problem: p.problem, steps, goldAnswer: String(p.answer) });
    });
    const chains = join(dir, 'chains.jsonl');
    writeFileSync(chains, lines.join('\n') + '\n');
    const out = join(dir, 'labels.jsonl');
    const args = ['label', '--chains', chains, '--generator', 'arithmetic:12,3,4,0,0', '--output', out, '--n', '2'];

    const first = await runEval([...args, '--limit', '5']);
    expect(first.stderr).not.toMatch(/prmkit eval:/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/chains labelled\s+5/);
    const second = await runEval(args);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/chains labelled\s+7/);
    expect(second.stdout).toMatch(/chains resumed from file\s+5/);
    expect(second.stdout).toMatch(/generated tokens\s+\d+/);

    const labels = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(labels).toHaveLength(12);
    labels.forEach((l, i) => {
      if (i % 2 === 0) expect(l.hardLabels).toEqual([true, true, true]);
      // the wrong first step is followed by the right later steps: rollouts from steps 1 and 2
      // reach the answer, so Math-Shepherd calls them good (labels measure reachability)
      else expect(l.hardLabels.slice(1)).toEqual([true, true]);
    });
    expect(labels.filter((l, i) => i % 2 && l.hardLabels[0] === false).length).toBeGreaterThanOrEqual(4);
  });

  it('labels through an OpenAI-compatible completions server', async () => {
    let posts = 0;
    const server = await jsonServer((q: { prompt: string | string[]; n: number; model: string }) => {
      posts++;
      const prompts = Array.isArray(q.prompt) ? q.prompt : [q.prompt];
      const choices = prompts.flatMap((_, p) =>
        Array.from({ length: q.n }, (_, j) => ({ index: p * q.n + j, text: ' So the answer is \\boxed{42}.', finish_reason: 'stop', stop_reason: null })),
      );
      return { id: 'cmpl-1', object: 'text_completion', model: q.model, choices, usage: { prompt_tokens: 10, completion_tokens: 9 * choices.length, total_tokens: 10 + 9 * choices.length } };
    });
    const base = `${server.url}/v1`;
    try {
      const chains = join(dir, 'open.jsonl');
      writeFileSync(
        chains,
        [
          { id: 'a', problem: 'What is 6 * 7?', steps: ['Six sevens.', 'That is 42.'], ground_truth_answer: '42' },
          { id: 'b', problem: 'What is 6 * 7 - 1?', steps: ['Six sevens.'], groundTruthAnswer: '41' },
        ].map((x) => JSON.stringify(x)).join('\n'),
      );
      const out = join(dir, 'open-labels.jsonl');
      const r = await runEval(['label', '--chains', chains, '--generator', `openai:${base},tiny-policy`, '--output', out, '--n', '3', '--temperature', '0.7']);
      expect(r.stderr).not.toMatch(/prmkit eval:/);
      expect(r.code).toBe(0);
      expect(posts).toBeGreaterThan(0);
      const [a, b] = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(a).toMatchObject({ id: 'a', hardLabels: [true, true], softLabels: [1, 1], rollouts: [3, 3] });
      expect(b).toMatchObject({ id: 'b', hardLabels: [false], softLabels: [0] });
      // 3 prefixes x n = 3 completions, 9 tokens each by the server's usage
      expect(r.stdout).toMatch(/completions\s+9\ngenerated tokens\s+81/);
    } finally {
      await server.close();
    }
  });

  it('argument and data errors', async () => {
    const cases: [string[], number, RegExp][] = [
      [['label', '--generator', 'arithmetic:1,1,1', '--output', 'x'], 2, /--chains FILE.jsonl is required/],
      [['label', '--chains', 'c', '--output', 'x'], 2, /--generator SPEC is required/],
      [['label', '--chains', 'c', '--generator', 'arithmetic:1,1,1'], 2, /--output FILE.jsonl is required/],
      [['label', '--chains', 'c', '--generator', 'magic', '--output', 'x'], 2, /unknown generator "magic"/],
      [['label', '--chains', 'c', '--generator', 'openai:nope,m', '--output', 'x'], 2, /is not a URL/],
      [['label', '--chains', 'c', '--generator', 'arithmetic:1,1,1', '--output', 'x', '--n', '0'], 2, /--n must be a positive integer, got 0 \(number\)/],
      [['label', '--chains', 'c', '--generator', 'arithmetic:1,1,1', '--output', 'x', '--temperature=-1'], 2, /--temperature must be a number >= 0, got -1 \(number\)/],
    ];
    for (const [argv, code, message] of cases) {
      const r = await runEval(argv);
      expect(r.code, argv.join(' ')).toBe(code);
      expect(r.stderr).toMatch(message);
    }
    const bad = join(dir, 'nogold.jsonl');
    writeFileSync(bad, JSON.stringify({ id: 'z', problem: 'p', steps: ['s'] }) + '\n');
    const r = await runEval(['label', '--chains', bad, '--generator', 'arithmetic:1,1,1', '--output', join(dir, 'o.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nogold.jsonl:1: chain z has no goldAnswer/);
  });

  it('a stop signal is an interruption (exit 130) that keeps the labels written so far', async () => {
    const chains = join(dir, 'stop.jsonl');
    writeFileSync(chains, JSON.stringify({ id: 'a', problem: 'p', steps: ['s'], goldAnswer: '1' }) + '\n');
    const out = join(dir, 'stop-labels.jsonl');
    const c = io({ signal: AbortSignal.abort() });
    expect(await runCli(['eval', 'label', '--chains', chains, '--generator', 'arithmetic:1,1,1', '--output', out], c)).toBe(130);
    expect(c.stderr.text).toBe(`prmkit eval label: interrupted; the labels finished so far are in ${out}, rerun the same command to go on\n`);
  });

  it('--overwrite starts over only a labels file, never another file', async () => {
    const chains = join(dir, 'ow.jsonl');
    writeFileSync(chains, JSON.stringify({ id: 'a', problem: 'p', steps: ['s'], goldAnswer: '1' }) + '\n');
    const notes = join(dir, 'notes.jsonl');
    writeFileSync(notes, '{"id": "mine", "text": "keep me"}\n');
    const r = await runEval(['label', '--chains', chains, '--generator', 'arithmetic:1,1,1', '--output', notes, '--overwrite']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`prmkit eval: labels file ${notes} exists and is not one prmkit wrote; refusing to replace it (move it away or choose another path)\n`);
    expect(readFileSync(notes, 'utf8')).toBe('{"id": "mine", "text": "keep me"}\n');
  });

  it('parses generator specs', () => {
    expect(parseGeneratorSpec('openai:http://h:8000/v1,Qwen/Qwen2.5-Math-7B-Instruct,\\n\\n')).toEqual({
      kind: 'openai',
      baseUrl: 'http://h:8000/v1',
      model: 'Qwen/Qwen2.5-Math-7B-Instruct',
      separator: '\n\n',
    });
    expect(parseGeneratorSpec('arithmetic:10,4,2,0.1')).toEqual({ kind: 'arithmetic', count: 10, steps: 4, seed: 2, slipRate: 0.1 });
    expect(parseGeneratorSpec('arithmetic:10,4,2,0,0')).toMatchObject({ slipRate: 0, hardStepRate: 0 });
    expect(() => parseGeneratorSpec('arithmetic:10,x,2')).toThrow(/expected arithmetic/);
  });

  it('a generator spec builds the problems its chains were written from', async () => {
    // with no slips the generator is exact: from every prefix of every problem the same
    // arguments create, it continues with that problem's own next step
    const generator = await createGenerator(parseGeneratorSpec('arithmetic:3,2,1,0,0'));
    const problems = createArithmeticProblems(3, { seed: 1, steps: 2 });
    for (const p of problems) {
      const solution = solveArithmetic(p);
      for (let k = 0; k < solution.length; k++) {
        const [[next]] = await generator.generate([{ problem: p.problem, steps: solution.slice(0, k), n: 1 }]);
        expect(next!.text).toBe(solution[k]);
      }
    }
    // a problem of another seed is not one of them
    const other = createArithmeticProblems(3, { seed: 2, steps: 2 }).find((q) => !problems.some((p) => p.problem === q.problem))!;
    await expect(generator.generate([{ problem: other.problem, steps: [], n: 1 }])).rejects.toThrow(
      new RangeError(`ArithmeticGenerator: requests[0].problem is not one of this task's problems: ${JSON.stringify(other.problem.slice(0, 80))}`),
    );
    expect(new ArithmeticGenerator({ problems }).name).toBeTypeOf('string');
  });
});
