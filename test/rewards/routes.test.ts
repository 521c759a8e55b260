// The RL reward routes over real HTTP on loopback, with request bodies shaped as OpenRLHF
// (remote reward model), OpenR (value worker) and a verl custom reward function send them.
// The scripted model's step probabilities are a pure function of the text, so every answer
// is checked against numbers computed here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../lib/server/index.js';
import { problemOf } from '../../lib/server/chat/turns.js';
import type { PrmServer } from '../../lib/server/index.js';
import { grpoAdvantagesSync } from '../../lib/kernels/index.js';
import { PolicyTokenizer } from '../../lib/rewards/index.js';
import { FakeModel, probOf } from '../server/fake-model.js';
import { get, metricValue, postJson } from '../server/http.js';
import { qwenDir } from '../helpers/index.js';

const model = Object.assign(new FakeModel(), { stepSeparator: 'ки' });
let server: PrmServer;
let url: string;
const qwen = PolicyTokenizer.load(qwenDir);

beforeAll(async () => {
  // a wait long enough that concurrent one-sample requests meet in one batch
  server = createServer({ model, batching: { maxWaitMs: 50 } });
  ({ url } = await server.listen({ port: 0 }));
});

afterAll(async () => {
  await server?.close();
});

const prob = (problem: string, k: number, step: string) => probOf(`${problem}|${k}|${step}`);

describe('POST /v1/rewards (a verl custom reward function)', () => {
  const problem = 'What is 12 + 30?';
  const responses = [
    'We add 12 and 30.\n\n12 + 30 = 42.\n\nThe answer is 42.',
    'Twelve plus thirty.\n\nThat is 42.',
    '12 + 30 = 43.',
    'Let us count: 12, 22, 32, 42.\n\nSo the sum is 42.\n\nDone: 42.',
  ];
  // what a verl reward function sends: the decoded response and its offset mapping from the policy tokenizer
  const items = responses.map((response) => {
    const { starts, ends } = qwen.spans(response);
    return { problem, response, tokenOffsets: Array.from(starts, (s, t) => [s, ends[t]]) };
  });

  it('gives step rewards on the policy tokens and GRPO advantages for the group', async () => {
    const r = await postJson(url, '/v1/rewards', { items, advantages: { mode: 'process', std: 'sample' } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.results).toHaveLength(4);
    const stepRewards: number[] = [];
    const stepEnds: number[] = [];
    const stepOffsets = [0];
    const tokens: number[] = [];
    r.body.results.forEach((res: any, i: number) => {
      const steps = responses[i].split('\n\n');
      expect(res.steps.map((s: any) => s.text)).toEqual(steps);
      res.stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(prob(problem, k, steps[k]), 12));
      expect(res.stepRewards).toEqual(res.stepProbs);
      expect(res.tokens).toBe(items[i].tokenOffsets.length);
      // each step's reward on the token that holds its last character, nothing elsewhere
      res.steps.forEach((s: any, k: number) => {
        const [a, b] = items[i].tokenOffsets[res.stepEnds[k]];
        expect(a <= s.end - 1 && s.end - 1 < b).toBe(true);
        expect(res.tokenRewards[res.stepEnds[k]]).toBeCloseTo(res.stepRewards[k], 6);
      });
      expect(res.tokenRewards.filter((v: number) => v !== 0)).toHaveLength(steps.length);
      stepRewards.push(...res.stepRewards);
      stepEnds.push(...res.stepEnds);
      stepOffsets.push(stepOffsets[stepOffsets.length - 1] + steps.length);
      tokens.push(res.tokens);
    });
    const expected = grpoAdvantagesSync(
      {
        stepRewards: Float32Array.from(stepRewards),
        stepOffsets: Int32Array.from(stepOffsets),
        responseOffsets: Int32Array.of(0, 4),
        stepEnds: Int32Array.from(stepEnds),
        responseTokens: Int32Array.from(tokens),
      },
      { backend: 'js' },
    );
    expect(r.body.results.flatMap((res: any) => res.advantages)).toEqual(Array.from(expected));
  });

  it('groups split items into separate groups', async () => {
    const r = await postJson(url, '/v1/rewards', { items, groups: [2, 2], advantages: { mode: 'outcome' } });
    expect(r.status).toBe(200);
    // two responses per group, outcome mode: one above the mean, one below (or both 0 when equal)
    for (const g of [0, 2]) {
      const a = r.body.results[g].advantages[0];
      const b = r.body.results[g + 1].advantages[0];
      expect(a).toBeCloseTo(-b, 5);
      expect(new Set(r.body.results[g].advantages).size).toBe(1);
    }
  });

  it('answers 400 naming the field for bad input, before scoring', async () => {
    const before = model.batches.length;
    const noOffsets = await postJson(url, '/v1/rewards', { items: [{ problem, response: 'a' }], advantages: true });
    expect(noOffsets.status).toBe(400);
    expect(noOffsets.body.error.param).toBe('items[0].tokenOffsets');
    const offRange = await postJson(url, '/v1/rewards', { items: [{ problem, response: 'abc', tokenOffsets: [[0, 9]] }] });
    expect(offRange.status).toBe(400);
    expect(offRange.body.error.param).toBe('items[0].tokenOffsets[0]');
    const missing = await postJson(url, '/v1/rewards', { items: [{ problem, response: 'abc', steps: ['xyz'] }] });
    expect(missing.status).toBe(400);
    expect(missing.body.error.param).toBe('items[0].steps[0]');
    const groups = await postJson(url, '/v1/rewards', { items, groups: [3] });
    expect(groups.status).toBe(400);
    expect(groups.body.error.param).toBe('groups');
    const kind = await postJson(url, '/v1/rewards', { items, stepReward: 'reward' });
    expect(kind.status).toBe(400);
    expect(model.batches.length).toBe(before);
  });
});

describe('POST /get_reward (OpenRLHF remote reward model)', () => {
  const prompt = '<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n';
  const response = 'First, 2 + 3 = 5.\n\nSo the answer is 5.';

  it('strips the prompt from the query, reads the problem from its user turn, and rewards the chain score', async () => {
    const r = await postJson(url, '/get_reward', { query: [prompt + response + '<|im_end|>'], prompts: [prompt], labels: ['5'] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const steps = response.split('\n\n');
    const probs = steps.map((s, k) => prob('What is 2 + 3?', k, s));
    const last = model.batches[model.batches.length - 1];
    expect(last.at(-1)).toEqual({ problem: 'What is 2 + 3?', steps });
    expect(r.body.rewards[0]).toBeCloseTo(probs[0] * probs[1], 6); // the server's default aggregate, prod
    expect(r.body.scores).toEqual(r.body.rewards);
    expect(r.body.extra_logs.min_step_prob[0]).toBeCloseTo(Math.min(...probs), 6);
    expect(r.body.extra_logs.first_error[0]).toBe(probs.findIndex((p) => p < 0.5));
    expect(r.body.extra_logs.steps).toEqual([2]);
  });

  it('reads the problem out of the chat templates policies use', () => {
    expect(problemOf('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nFirst?<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\n What is 7 * 6? <|im_end|>\n<|im_start|>assistant\n')).toBe('What is 7 * 6?');
    expect(problemOf('<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 7 * 6?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n')).toBe('What is 7 * 6?');
    expect(problemOf('<s>[INST] What is 7 * 6? [/INST]')).toBe('What is 7 * 6?');
    expect(problemOf('Question: what is 7 * 6?\nAnswer:')).toBe('Question: what is 7 * 6?\nAnswer:');
  });

  it('a prompt without a chat template is the problem as it is', async () => {
    const r = await postJson(url, '/get_reward', { query: ['Q: 1 + 1?\nA: 1 + 1 = 2.'], prompts: ['Q: 1 + 1?\nA: '], labels: [''] });
    expect(r.status).toBe(200);
    expect(model.batches[model.batches.length - 1].at(-1)).toEqual({ problem: 'Q: 1 + 1?\nA: ', steps: ['1 + 1 = 2.'] });
  });

  it('an empty response gets reward 0 without scoring', async () => {
    const before = model.batches.length;
    const r = await postJson(url, '/get_reward', { query: [prompt + '<|im_end|>'], prompts: [prompt] });
    expect(r.status).toBe(200);
    expect(r.body.rewards).toEqual([0]);
    expect(r.body.extra_logs.steps).toEqual([0]);
    expect(model.batches.length).toBe(before);
  });

  it('a query that does not start with its prompt is a 400 naming it', async () => {
    const r = await postJson(url, '/get_reward', { query: [prompt + response, 'other text'], prompts: [prompt, prompt] });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('query[1]');
  });

  it('64 concurrent one-sample requests share batches', async () => {
    const page0 = (await get(url, '/metrics')).text;
    const batches0 = metricValue(page0, 'prmkit_batch_size_count') ?? 0;
    const chains0 = metricValue(page0, 'prmkit_batch_size_sum') ?? 0;
    const replies = await Promise.all(
      Array.from({ length: 64 }, (_, i) => {
        const p = `<|im_start|>user\nWhat is ${i} + 3?<|im_end|>\n<|im_start|>assistant\n`;
        return postJson(url, '/get_reward', { query: [`${p}Step ${i}.\n\nAnswer ${i}.`], prompts: [p], labels: [String(i)] });
      }),
    );
    replies.forEach((r, i) => {
      expect(r.status).toBe(200);
      const q = `What is ${i} + 3?`;
      expect(r.body.rewards[0]).toBeCloseTo(prob(q, 0, `Step ${i}.`) * prob(q, 1, `Answer ${i}.`), 6);
    });
    const page = (await get(url, '/metrics')).text;
    const batches = metricValue(page, 'prmkit_batch_size_count')! - batches0;
    const chains = metricValue(page, 'prmkit_batch_size_sum')! - chains0;
    expect(chains).toBe(64);
    expect(batches).toBeLessThan(64);
    expect(batches).toBeGreaterThan(0);
  });
});

describe('POST /worker_value_inference (OpenR value worker)', () => {
  const question = 'Compute 3 * 4 and add 1.';
  const answer = '3 * 4 = 12 ки 12 + 1 = 13 ки The answer is 13 ки';

  it('gives each input its per-step values', async () => {
    const r = await postJson(url, '/worker_value_inference', { input_str: [`${question}\n${answer}`, `${question}\nIt is 13 ки`] }, { 'user-agent': 'FastChat Client' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.input).toHaveLength(2);
    const steps = ['3 * 4 = 12', '12 + 1 = 13', 'The answer is 13'];
    expect(r.body.value[0]).toHaveLength(3);
    r.body.value[0].forEach((v: number, k: number) => expect(v).toBeCloseTo(prob(question, k, steps[k]), 12));
    expect(r.body.value[1][0]).toBeCloseTo(prob(question, 0, 'It is 13'), 12);
  });

  it('a single string gets a single list', async () => {
    const r = await postJson(url, '/worker_value_inference', { input_str: `${question}\n${answer}` });
    expect(r.status).toBe(200);
    expect(r.body.input).toBe(`${question}\n${answer}`);
    expect(r.body.value).toHaveLength(3);
  });
});
