// `--scorer prm:...` and `--scorer vllm:...` end to end: a tiny ONNX PRM written by the test,
// and a vLLM-shaped /pooling server on an ephemeral port.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstBelowThreshold } from '../../lib/eval/detectors.js';
import { evaluateProcessBench, readProcessBench } from '../../lib/eval/processbench/index.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { runEval } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-evalprm-'));
const data = join(dir, 'pb');
mkdirSync(data);
const problems = ['Compute 3 + 4 * 2.', 'What is 12 / 3 - 1?', 'Add 5 to 9, then double it.'];
const records = problems.flatMap((problem, p) =>
  [0, 1].map((k) => {
    const steps = ['First we look at the numbers.', `Then compute ${p + k}.`, `So the answer is ${p * 3 + k}.`].slice(0, 2 + k);
    return { id: `t-${p}-${k}`, generator: 'test', problem, steps, final_answer_correct: k === 0, label: k === 0 ? -1 : 1 };
  }),
);
writeFileSync(join(data, 'tiny.json'), JSON.stringify(records));

describe('eval with real scorer backends', () => {
  let m: TinyModel;
  beforeAll(async () => {
    m = await createTinyModel({ dir: join(dir, 'model'), output: 'logits', format: 'math-shepherd', layers: 1, hidden: 16, seed: 5 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('-m/-t/-f scores with the local ONNX PRM, same as the library', async () => {
    const r = await runEval(['processbench', '--data', data, '-m', m.model, '-t', m.tokenizer, '-f', 'math-shepherd', '--threshold', '0.5', '--json', '-']);
    expect(r.stderr).not.toMatch(/prmkit eval:/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.subsets[0]).toMatchObject({ subset: 'tiny', samples: 6, erroneous: { total: 3 }, correct: { total: 3 } });

    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      const subsets = await readProcessBench(data);
      const run = await evaluateProcessBench(subsets, { scorer: prm });
      const s = run.metrics.subsets[0]!;
      expect(report.subsets[0].erroneous.hits).toBe(s.erroneous.hits);
      expect(report.subsets[0].correct.hits).toBe(s.correct.hits);
      const scores = await prm.score(records.map((x) => ({ id: x.id, problem: x.problem, steps: x.steps })));
      scores.forEach((sc, i) => {
        expect(sc.stepProbs).toHaveLength(records[i]!.steps.length);
        expect(run.predictions.get(records[i]!.id)).toBe(firstBelowThreshold(sc.stepProbs, 0.5));
      });
    } finally {
      await prm.close();
    }
  });

  it('a missing model file fails with exit 1 and the path', async () => {
    const r = await runEval(['processbench', '--data', data, '-m', join(dir, 'none.onnx'), '-t', m.tokenizer, '-f', 'math-shepherd']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/none\.onnx/);
  });

  it('--vllm URL -t -f scores through a /pooling server', async () => {
    let p = 0.9;
    let requests = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        requests++;
        const q = JSON.parse(body) as { input: number[][]; task: string };
        if (req.url !== '/pooling' || q.task !== 'token_classify') {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'bad request', type: 'BadRequest', code: 400 } }));
          return;
        }
        // math-shepherd's positive class is column 0 ('+')
        const data = q.input.map((ids, index) => ({ index, object: 'pooling', data: ids.map(() => [p, 1 - p]) }));
        const tokens = q.input.reduce((a, ids) => a + ids.length, 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({ id: 'pool-1', object: 'list', created: 0, model: 'tiny', data, usage: { prompt_tokens: tokens, total_tokens: tokens } }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const high = await runEval(['processbench', '--data', data, '--vllm', url, '-t', m.tokenizer, '-f', 'math-shepherd', '--json', '-']);
      expect(high.stderr).not.toMatch(/prmkit eval:/);
      expect(high.code).toBe(0);
      expect(JSON.parse(high.stdout).subsets[0]).toMatchObject({ erroneousAccuracy: 0, correctAccuracy: 100 });
      expect(requests).toBeGreaterThan(0);
      p = 0.1; // every step now looks wrong: predictions are all 0
      const low = await runEval(['processbench', '--data', data, '--vllm', url, '-t', m.tokenizer, '-f', 'math-shepherd', '--json', '-']);
      expect(low.code).toBe(0);
      expect(JSON.parse(low.stdout).subsets[0]).toMatchObject({ erroneous: { hits: 0 }, correctAccuracy: 0 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
