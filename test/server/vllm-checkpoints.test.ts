// The vLLM-compatible routes on the real PRM architectures (random-weight checkpoints with
// the families' real tokenizers, converted to ONNX): the requests vLLM's Qwen PRM example and
// a Math-Shepherd client send, answered with the STEP rows vLLM's step pooler gives, checked
// against the step probabilities of each family's published PyTorch recipe (reference.json).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { describeWhen } from '../helpers/index.js';
import { cleanup, converted, hasCheckpoints, NO_CHECKPOINTS, reference } from '../convert/helpers.js';
import type { Family } from '../convert/helpers.js';
import { join } from 'node:path';
import { checkpointsDir } from '../helpers/index.js';
import { postJson } from './http.js';

const SYSTEM = 'Please reason step by step, and put your final answer within \\boxed{}.';
// float32 conversion against the PyTorch float32 math, as the conversion suite bounds it
const TOLERANCE = 1e-4;

interface Served {
  prm: Prm;
  server: PrmServer;
  url: string;
}

async function serve(family: Family): Promise<Served> {
  const prm = await Prm.load({ model: await converted(family, 'float32') });
  const server = createServer({ model: prmServerModel(prm), modelName: family, batching: { maxWaitMs: 1 } });
  const { url } = await server.listen();
  return { prm, server, url };
}

describeWhen(hasCheckpoints, 'vLLM routes on the real PRM architectures', NO_CHECKPOINTS, () => {
  const served: Partial<Record<Family, Served>> = {};
  beforeAll(async () => {
    served['qwen2.5-math-prm'] = await serve('qwen2.5-math-prm');
    served['math-shepherd'] = await serve('math-shepherd');
    served['rlhflow'] = await serve('rlhflow');
  });
  afterAll(async () => {
    for (const s of Object.values(served)) await s?.server.close();
    cleanup();
  });

  it('Qwen2.5-Math-PRM: the chat request of vLLM\'s example gives [S][2] step rows equal to the PyTorch recipe', async () => {
    const { url } = served['qwen2.5-math-prm']!;
    const ref = reference('qwen2.5-math-prm');
    const tag = await postJson(url, '/tokenize', { prompt: '<extra_0>', add_special_tokens: false });
    expect(tag.body.tokens).toEqual([151651]); // the step_tag_id vLLM's Qwen PRM pooler reads
    let worst = 0;
    for (const [i, chain] of ref.chains.entries()) {
      const messages = [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: chain.problem },
        { role: 'assistant', content: chain.steps.join('<extra_0>') + '<extra_0>' },
      ];
      const r = await postJson(url, '/pooling', { model: 'qwen2.5-math-prm', messages });
      expect(r.status).toBe(200);
      const rows: number[][] = r.body.data[0].data;
      expect(rows).toHaveLength(chain.steps.length);
      expect(r.body.usage.prompt_tokens).toBe(ref.reference[i]!.tokens);
      rows.forEach((row, s) => {
        expect(row[0]! + row[1]!).toBeCloseTo(1, 5);
        worst = Math.max(worst, Math.abs(row[1]! - ref.reference[i]!.stepProbs[s]!));
      });
    }
    console.log(`qwen2.5-math-prm /pooling STEP rows vs the PyTorch recipe: max |Δp| ${worst.toExponential(2)} over ${ref.chains.length} chains`);
    expect(worst).toBeLessThan(TOLERANCE);
  });

  it('Math-Shepherd: the text request gives one row per ки, P(+) equal to the PyTorch recipe', async () => {
    const { url } = served['math-shepherd']!;
    const ref = reference('math-shepherd');
    let worst = 0;
    for (const [i, chain] of ref.chains.entries()) {
      const text = `${chain.problem} ${chain.steps.map((s) => `${s} ки`).join('\n')}`;
      const r = await postJson(url, '/pooling', { model: 'math-shepherd', input: text });
      expect(r.status).toBe(200);
      const rows: number[][] = r.body.data[0].data;
      expect(rows).toHaveLength(chain.steps.length);
      expect(r.body.usage.prompt_tokens).toBe(ref.reference[i]!.tokens);
      rows.forEach((row, s) => (worst = Math.max(worst, Math.abs(row[0]! - ref.reference[i]!.stepProbs[s]!))));
    }
    console.log(`math-shepherd /pooling STEP rows vs the PyTorch recipe: max |Δp| ${worst.toExponential(2)} over ${ref.chains.length} chains`);
    expect(worst).toBeLessThan(TOLERANCE);
  });

  it('rerank and score: a solution text split on the format\'s tag scores as the recipe\'s product of step probabilities', async () => {
    const { url } = served['qwen2.5-math-prm']!;
    const ref = reference('qwen2.5-math-prm');
    // chains that one problem's candidates could be: the reference chains of the first problem's split
    const picked = ref.chains
      .map((c, i) => ({ c, i }))
      .filter(({ c }) => c.steps.every((s) => s === s.trim() && s.length > 0))
      .slice(0, 4);
    const query = picked[0]!.c.problem;
    const documents = picked.map(({ c }) => c.steps.map((s) => `${s}<extra_0>`).join(''));
    // scored against the first problem, so compare with the Prm on the same pairs
    const local = await served['qwen2.5-math-prm']!.prm.score(picked.map(({ c }) => ({ problem: query, steps: c.steps })));
    const r = await postJson(url, '/v1/rerank', { model: 'qwen2.5-math-prm', query, documents });
    expect(r.status).toBe(200);
    for (const x of r.body.results) expect(x.relevance_score).toBeCloseTo(local[x.index]!.score, 5);
    // the first candidate is the reference chain itself: its score is the recipe's product
    const own = ref.reference[picked[0]!.i]!.stepProbs.reduce((a, p) => a * p, 1);
    const s = await postJson(url, '/score', { model: 'qwen2.5-math-prm', text_1: query, text_2: documents[0] });
    expect(Math.abs(s.body.data[0].score - own)).toBeLessThan(TOLERANCE);
  });

  it("prmkit's vLLM client through this server gives the recipe's step probabilities for every family", async () => {
    // Qwen and Math-Shepherd are served with the STEP pooler (their step tags), RLHFlow,
    // whose steps end at no single tag token, with the ALL pooler
    for (const family of ['qwen2.5-math-prm', 'math-shepherd', 'rlhflow'] as const) {
      const { url, server } = served[family]!;
      expect(server.context.options.compat.pooling).toBe(family === 'rlhflow' ? 'all' : 'step');
      const ref = reference(family);
      const remote = await Prm.connect({ vllm: { url, model: family }, tokenizer: join(checkpointsDir, family, 'tokenizer.json'), format: family });
      const got = await remote.score(ref.chains);
      let worst = 0;
      got.forEach((g, i) => {
        expect(g.stepProbs).toHaveLength(ref.chains[i]!.steps.length);
        g.stepProbs.forEach((p, s) => (worst = Math.max(worst, Math.abs(p - ref.reference[i]!.stepProbs[s]!))));
      });
      await remote.close();
      console.log(`${family}: Prm.connect through prmkit's /pooling vs the PyTorch recipe: max |Δp| ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(TOLERANCE);
    }
  });
});
