// /pooling, /tokenize, /detokenize, /invocations and /v1/models as vLLM serves a PRM,
// requested exactly as vLLM's own tests and examples do (test_token_reward_online.py,
// test_reward.py, test_truncation.py, token_reward_online.py), on the tiny real PRM in the
// Qwen2.5-Math-PRM format. Every field those clients read is checked against the Prm
// called directly; every encoding against the float answer, decoded here independently.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { cleanup, tiny } from '../prm/helpers.js';
import { get, metricValue, postJson } from './http.js';

const SYSTEM = 'Please reason step by step, and put your final answer within \\boxed{}.';
const QUESTION = 'Sue lives in a fun neighborhood. How many flamingos were on her lawn?';
const STEPS = ['There were 18 pink flamingos.', 'She painted 6 of them white.', 'So there were 18 + 6 = 24 flamingos.'];
// what vLLM's Qwen PRM example sends: the chat, steps joined and ended by <extra_0>
const MESSAGES = [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: QUESTION },
  { role: 'assistant', content: STEPS.join('<extra_0>') + '<extra_0>' },
];
const TAG = '<extra_0>';

let prm: Prm;
let step: PrmServer;
let all: PrmServer;
let stepUrl: string;
let allUrl: string;
let tokenizerPath: string;
let prompt: string; // MESSAGES rendered with the chat template, as the example does
const NAME = 'Qwen/Qwen2.5-Math-PRM-7B';

beforeAll(async () => {
  const m = await tiny({ output: 'logits', format: 'qwen2.5-math-prm', layers: 2, hidden: 32, seed: 11 });
  tokenizerPath = m.tokenizer;
  prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'qwen2.5-math-prm', workers: { threads: 1 }, maxContext: 512 });
  step = createServer({ model: prmServerModel(prm), modelName: NAME, closeModel: false, batching: { maxWaitMs: 1 } });
  // the ALL server also trusts chat templates sent with a request (--trust-request-chat-template)
  all = createServer({ model: prmServerModel(prm), modelName: NAME, pooling: 'all', closeModel: false, batching: { maxWaitMs: 1 }, trustRequestChatTemplate: true });
  ({ url: stepUrl } = await step.listen());
  ({ url: allUrl } = await all.listen());
  prompt = prm.tokenizer.applyChatTemplate(MESSAGES);
});

afterAll(async () => {
  await step?.close();
  await all?.close();
  await prm?.close();
  cleanup();
});

/** Row-wise softmax, to compare raw outputs with probabilities. */
const softmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

// ---- independent decoders of vLLM's binary encodings (from the IEEE / OCP fp8 definitions) ----
function halfValue(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 31;
  const f = h & 1023;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
function bf16Value(h: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, h << 16);
  return b.getFloat32(0);
}
function fp8Value(c: number, expBits: number, bias: number, fn: boolean): number {
  const mant = 7 - expBits;
  const s = c & 0x80 ? -1 : 1;
  const e = (c >> mant) & ((1 << expBits) - 1);
  const f = c & ((1 << mant) - 1);
  const top = (1 << expBits) - 1;
  if (fn && e === top && f === (1 << mant) - 1) return NaN;
  if (!fn && e === top) return f ? NaN : s * Infinity;
  if (e === 0) return s * f * 2 ** (1 - bias - mant);
  return s * 2 ** (e - bias) * (1 + f / (1 << mant));
}

const DTYPES = ['float32', 'float16', 'bfloat16', 'fp8_e4m3', 'fp8_e5m2'] as const;
const ENDIANS = ['native', 'big', 'little'] as const;
type Dtype = (typeof DTYPES)[number];
const WIDTH: Record<Dtype, number> = { float32: 4, float16: 2, bfloat16: 2, fp8_e4m3: 1, fp8_e5m2: 1 };
// half the spacing of each format near 1, relative: what round-to-nearest may lose
const TOL: Record<Dtype, number> = { float32: 1e-7, float16: 2 ** -11, bfloat16: 2 ** -8, fp8_e4m3: 2 ** -4, fp8_e5m2: 2 ** -3 };

function decode(bytes: Buffer, dtype: Dtype, endian: (typeof ENDIANS)[number]): number[] {
  const little = endian === 'native' ? new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 : endian === 'little';
  const w = WIDTH[dtype];
  expect(bytes.length % w).toBe(0);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += w) {
    if (dtype === 'float32') out.push(little ? bytes.readFloatLE(i) : bytes.readFloatBE(i));
    else if (w === 2) {
      const h = little ? bytes.readUInt16LE(i) : bytes.readUInt16BE(i);
      out.push(dtype === 'float16' ? halfValue(h) : bf16Value(h));
    } else out.push(dtype === 'fp8_e4m3' ? fp8Value(bytes[i]!, 4, 7, true) : fp8Value(bytes[i]!, 5, 15, false));
  }
  return out;
}

/** Every representable value of an fp8 format, to check that an encoding picked the nearest one. */
function nearestFp8(x: number, expBits: number, bias: number, fn: boolean): number {
  let best = NaN;
  for (let c = 0; c < 256; c++) {
    const v = fp8Value(c, expBits, bias, fn);
    if (Number.isFinite(v) && (Number.isNaN(best) || Math.abs(v - x) < Math.abs(best - x))) best = v;
  }
  return best;
}

describe('vLLM /pooling for a PRM (STEP and ALL poolers)', () => {
  it('GET /v1/models gives a full vLLM model card, and /v1/models/{id} that card', async () => {
    const r = await get(stepUrl, '/v1/models');
    const list = JSON.parse(r.text);
    expect(list.object).toBe('list');
    const card = list.data[0];
    expect(card).toMatchObject({ id: NAME, object: 'model', owned_by: 'prmkit', root: NAME, parent: null, max_model_len: 512 });
    expect(Number.isInteger(card.created)).toBe(true);
    expect(card.permission[0]).toMatchObject({ object: 'model_permission', organization: '*', group: null, is_blocking: false, allow_view: true });
    expect(card.permission[0].id).toMatch(/^modelperm-[0-9a-f]{32}$/);
    const one = await get(stepUrl, `/v1/models/${NAME}`);
    expect(JSON.parse(one.text)).toEqual(card);
    const missing = await get(stepUrl, '/v1/models/other');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error).toMatchObject({ type: 'NotFoundError', param: 'model', code: 404 });
  });

  it('/tokenize and /detokenize use the served tokenizer (completion and chat forms)', async () => {
    const text = 'The chef prepared a delicious meal.';
    const r = await postJson(stepUrl, '/tokenize', { model: NAME, prompt: text });
    expect(r.status).toBe(200);
    const ids = prm.tokenizer.encode(text, true);
    expect(r.body).toEqual({ count: ids.length, max_model_len: 512, tokens: ids, token_strs: null });
    const strs = await postJson(stepUrl, '/tokenize', { prompt: text, add_special_tokens: false, return_token_strs: true });
    expect(strs.body.token_strs).toEqual(prm.tokenizer.encode(text, false).map((id) => prm.tokenizer.idToToken(id)));
    // chat form: vLLM's tokenize adds the generation prompt by default
    const chat = await postJson(stepUrl, '/tokenize', { messages: MESSAGES.slice(0, 2) });
    expect(chat.body.tokens).toEqual(prm.tokenizer.encode(prm.tokenizer.applyChatTemplate(MESSAGES.slice(0, 2), { addGenerationPrompt: true }), false));
    const back = await postJson(stepUrl, '/detokenize', { model: NAME, tokens: ids });
    expect(back.body).toEqual({ prompt: prm.tokenizer.decode(ids) });
    const oov = await postJson(stepUrl, '/detokenize', { tokens: [1, 10_000_000] });
    expect(oov.status).toBe(400);
    expect(oov.body.error).toMatchObject({ type: 'BadRequestError', param: 'tokens[1]' });
  });

  it('STEP pooling: the text the Qwen PRM example sends gives one [2] row per step, the Prm\'s step probabilities', async () => {
    const r = await postJson(stepUrl, '/pooling', { model: NAME, input: prompt });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['created', 'data', 'id', 'model', 'object', 'usage']);
    expect(r.body.id).toMatch(/^pooling-[0-9a-f]{32}$/);
    expect(r.body.model).toBe(NAME);
    expect(r.body.data).toHaveLength(1);
    const rows: number[][] = r.body.data[0].data;
    expect(rows).toHaveLength(STEPS.length); // vLLM's golden fixture shape: [S][2]
    const direct = await prm.score([{ problem: QUESTION, steps: STEPS }]);
    rows.forEach((row, s) => {
      expect(row).toHaveLength(2);
      expect(row[0]! + row[1]!).toBeCloseTo(1, 6);
      expect(row[1]).toBeCloseTo(direct[0]!.stepProbs[s]!, 5);
    });
    const tokens = prm.tokenizer.encode(prompt, true).length;
    expect(r.body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null });
  });

  it('ALL pooling: one row per token, as the ALL pooler and Prm.classifyTokens give', async () => {
    const ids = prm.tokenizer.encode(prompt, true);
    const r = await postJson(allUrl, '/pooling', { model: NAME, input: [ids, ids.slice(0, 20)], encoding_format: 'float' });
    expect(r.status).toBe(200);
    const direct = await prm.classifyTokens([ids, ids.slice(0, 20)]);
    expect(r.body.data.map((d: { data: unknown[] }) => d.data.length)).toEqual([ids.length, 20]);
    r.body.data.forEach((d: { index: number; data: number[][] }, i: number) => {
      expect(d.index).toBe(i);
      d.data.forEach((row, t) => row.forEach((p, k) => expect(p).toBeCloseTo(direct[i]!.probs[t]![k]!, 6)));
    });
    expect(r.body.usage.prompt_tokens).toBe(ids.length + 20);
    // the same chain in STEP mode keeps exactly the rows of the step-tag tokens
    const s = await postJson(stepUrl, '/pooling', { input: ids });
    const tag = prm.tokenizer.tokenToId(TAG)!;
    const tagRows = r.body.data[0].data.filter((_: unknown, t: number) => ids[t] === tag);
    expect(s.body.data[0].data).toEqual(tagRows);
  });

  it('answers both requests of vLLM\'s token_reward_online.py example', async () => {
    const model = JSON.parse((await get(allUrl, '/v1/models')).text).data[0].id;
    const completion = await postJson(allUrl, '/pooling', { model, input: 'vLLM is great!' });
    expect(completion.status).toBe(200);
    const ids = prm.tokenizer.encode('vLLM is great!', true);
    expect(completion.body.data[0].data).toHaveLength(ids.length);
    const chat = await postJson(allUrl, '/pooling', { model, messages: [{ role: 'user', content: [{ type: 'text', text: 'vLLM is great!' }] }] });
    expect(chat.status).toBe(200);
    const rendered = prm.tokenizer.applyChatTemplate([{ role: 'user', content: 'vLLM is great!' }]);
    expect(chat.body.usage.prompt_tokens).toBe(prm.tokenizer.encode(rendered, false).length);
    const direct = await prm.classifyTokens([prm.tokenizer.encode(rendered, false)]);
    chat.body.data[0].data.forEach((row: number[], t: number) => row.forEach((p, k) => expect(p).toBeCloseTo(direct[0]!.probs[t]![k]!, 6)));
  });

  it('chat form (messages) equals the completion form of the rendered prompt, with vLLM\'s defaults', async () => {
    const chat = await postJson(stepUrl, '/pooling', { model: NAME, messages: MESSAGES, encoding_format: 'float' });
    const completion = await postJson(stepUrl, '/pooling', { model: NAME, input: prompt, encoding_format: 'float', add_special_tokens: false });
    expect(chat.status).toBe(200);
    expect(chat.body.data).toEqual(completion.body.data);
    expect(chat.body.usage).toEqual(completion.body.usage);
    // continue_final_message leaves the assistant turn open: no <|im_end|>\n after it
    const open = await postJson(stepUrl, '/pooling', { messages: MESSAGES, continue_final_message: true });
    expect(open.body.usage.prompt_tokens).toBe(prm.tokenizer.encode(prompt.slice(0, prompt.lastIndexOf('<|im_end|>')), false).length);
    const gen = await postJson(stepUrl, '/pooling', { messages: MESSAGES.slice(0, 2), add_generation_prompt: true });
    expect(gen.body.usage.prompt_tokens).toBe(
      prm.tokenizer.encode(prm.tokenizer.applyChatTemplate(MESSAGES.slice(0, 2), { addGenerationPrompt: true }), false).length,
    );
    const both = await postJson(stepUrl, '/pooling', { messages: MESSAGES, continue_final_message: true, add_generation_prompt: true });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
    const template = "{% for m in messages %}{{ m.role + ': ' + m.content + '\\n' }}{% endfor %}";
    // a request's own template is refused unless the server trusts them, as vLLM does
    const refused = await postJson(stepUrl, '/pooling', { messages: MESSAGES, chat_template: template });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ param: 'chat_template', message: expect.stringContaining('--trust-request-chat-template is not set') });
    const own = await postJson(allUrl, '/pooling', { messages: MESSAGES, chat_template: template });
    expect(own.status).toBe(200);
    expect(own.body.usage.prompt_tokens).toBe(prm.tokenizer.encode(MESSAGES.map((m) => `${m.role}: ${m.content}\n`).join(''), false).length);
  });

  it('base64, bytes and bytes_only decode to the float answer for every embed_dtype x endianness', async () => {
    const input = [prompt, prompt.slice(0, prompt.lastIndexOf(TAG) + TAG.length)];
    for (const url of [stepUrl, allUrl]) {
      const float = await postJson(url, '/pooling', { model: NAME, input, encoding_format: 'float' });
      const ref: number[][] = float.body.data.map((d: { data: number[][] }) => d.data.flat());
      const shapes = float.body.data.map((d: { data: number[][] }) => [d.data.length, d.data[0]!.length]);
      // the default is float, as vLLM's test_batch_base64_pooling checks
      expect((await postJson(url, '/pooling', { model: NAME, input })).body.data).toEqual(float.body.data);
      for (const dtype of DTYPES) {
        for (const endianness of ENDIANS) {
          const close = (got: number[], want: number[]) => {
            expect(got).toHaveLength(want.length);
            got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(TOL[dtype] * Math.max(Math.abs(want[i]!), 2 ** -6) + 1e-12));
          };
          const b64 = await postJson(url, '/pooling', { model: NAME, input, encoding_format: 'base64', embed_dtype: dtype, endianness });
          expect(b64.status).toBe(200);
          b64.body.data.forEach((d: { data: string }, i: number) => close(decode(Buffer.from(d.data, 'base64'), dtype, endianness), ref[i]!));

          const bytes = await fetch(url + '/pooling', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': `req-${dtype}-${endianness}` },
            body: JSON.stringify({ model: NAME, input, encoding_format: 'bytes', embed_dtype: dtype, endianness }),
          });
          expect(bytes.status).toBe(200);
          expect(bytes.headers.get('content-type')).toMatch(/^application\/octet-stream/);
          const meta = JSON.parse(bytes.headers.get('metadata')!);
          expect(meta).toMatchObject({ id: `pooling-req-${dtype}-${endianness}`, model: NAME });
          expect(meta.usage).toEqual({ prompt_tokens: float.body.usage.prompt_tokens, total_tokens: float.body.usage.total_tokens });
          const body = Buffer.from(await bytes.arrayBuffer());
          meta.data.forEach((item: { index: number; embed_dtype: string; endianness: string; start: number; end: number; shape: number[] }, i: number) => {
            expect(item).toMatchObject({ index: i, embed_dtype: dtype, endianness, shape: shapes[i] });
            expect(item.end - item.start).toBe(ref[i]!.length * WIDTH[dtype]);
            close(decode(body.subarray(item.start, item.end), dtype, endianness), ref[i]!);
          });

          const only = await fetch(url + '/pooling', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: NAME, input, encoding_format: 'bytes_only', embed_dtype: dtype, endianness }),
          });
          expect(only.headers.get('metadata')).toBeNull();
          // the reader rebuilds the layout from the shapes it knows (vLLM's build_metadata_items)
          const all = decode(Buffer.from(await only.arrayBuffer()), dtype, endianness);
          close(all, ref.flat());
        }
      }
    }
  });

  it('fp8 encodings pick the nearest representable value', async () => {
    const r = await postJson(allUrl, '/pooling', { input: prompt, encoding_format: 'float', use_activation: false });
    const values: number[] = r.body.data[0].data.flat();
    for (const [dtype, e, b, fn] of [
      ['fp8_e4m3', 4, 7, true],
      ['fp8_e5m2', 5, 15, false],
    ] as const) {
      const enc = await postJson(allUrl, '/pooling', { input: prompt, encoding_format: 'base64', embed_dtype: dtype, use_activation: false });
      const got = decode(Buffer.from(enc.body.data[0].data, 'base64'), dtype, 'native');
      got.forEach((v, i) => expect(Math.abs(v - values[i]!)).toBe(Math.abs(nearestFp8(values[i]!, e, b, fn) - values[i]!)));
    }
  });

  it('use_activation: false gives the raw head outputs (softmax of them is the probabilities)', async () => {
    const ids = prm.tokenizer.encode(prompt, true);
    for (const url of [stepUrl, allUrl]) {
      const p = await postJson(url, '/pooling', { input: ids });
      const z = await postJson(url, '/pooling', { input: ids, use_activation: false });
      expect(z.status).toBe(200);
      expect(z.body.data[0].data).toHaveLength(p.body.data[0].data.length);
      // logits, not probabilities: rows that do not sum to 1
      expect(z.body.data[0].data.some((row: number[]) => Math.abs(row[0]! + row[1]! - 1) > 1e-3)).toBe(true);
      z.body.data[0].data.forEach((row: number[], t: number) => {
        softmax(row).forEach((q, k) => expect(q).toBeCloseTo(p.body.data[0].data[t][k], 6));
      });
      // the older name of the flag still counts when use_activation is absent
      const alias = await postJson(url, '/pooling', { input: ids, activation: false });
      expect(alias.body.data).toEqual(z.body.data);
    }
  });

  it('truncate_prompt_tokens as vLLM: keeps the first k (or the last k with truncation_side left), -1 = max_model_len, larger is a 400', async () => {
    const ids = prm.tokenizer.encode(prompt, true);
    const k = 10;
    const first = await postJson(allUrl, '/pooling', { model: NAME, input: prompt, truncate_prompt_tokens: k });
    expect(first.body.usage.prompt_tokens).toBe(k);
    expect(first.body.data[0].data).toEqual((await postJson(allUrl, '/pooling', { input: ids.slice(0, k) })).body.data[0].data);
    const last = await postJson(allUrl, '/pooling', { input: prompt, truncate_prompt_tokens: k, truncation_side: 'left' });
    expect(last.body.data[0].data).toEqual((await postJson(allUrl, '/pooling', { input: ids.slice(-k) })).body.data[0].data);
    const max = await postJson(allUrl, '/pooling', { input: prompt, truncate_prompt_tokens: -1 });
    expect(max.body.usage.prompt_tokens).toBe(ids.length); // shorter than max_model_len: all of it
    const over = await postJson(allUrl, '/pooling', { model: NAME, input: prompt, truncate_prompt_tokens: 513 });
    expect(over.status).toBe(400);
    expect(over.body.error.type).toBe('BadRequestError');
    expect(over.body.error.message).toBe('truncate_prompt_tokens value is greater than max_model_len. Please request a smaller truncation size.');
    // an input past max_model_len without truncation: vLLM's 400
    const long = await postJson(allUrl, '/pooling', { input: [Array.from({ length: 600 }, () => ids[5]!)] });
    expect(long.status).toBe(400);
    expect(long.body.error.type).toBe('BadRequestError');
    expect(long.body.error.message).toContain("This model's maximum context length is 512 tokens. However, you requested 600 tokens");
    const cut = await postJson(allUrl, '/pooling', { input: [Array.from({ length: 600 }, () => ids[5]!)], truncate_prompt_tokens: -1 });
    expect(cut.status).toBe(200);
    expect(cut.body.usage.prompt_tokens).toBe(512);
  });

  it('answers bad parameters as vLLM does: 400, literal_error, the value named', async () => {
    for (const param of ['encoding_format', 'embed_dtype', 'endianness']) {
      const r = await postJson(stepUrl, '/pooling', { model: NAME, input: 'x', encoding_format: 'base64', [param]: `bad_${param}` });
      expect(r.status).toBe(400);
      expect(r.body.error.type).toBe('BadRequestError');
      expect(r.body.error.message).toContain('literal_error');
      expect(r.body.error.message).toContain(`bad_${param}`);
      expect(r.body.error.param).toBe(param);
    }
    const other = await postJson(stepUrl, '/pooling', { model: 'internlm/internlm2-1_8b-reward', input: 'x' });
    expect(other.status).toBe(404);
    expect(other.body.error).toMatchObject({ type: 'NotFoundError', param: 'model', code: 404 });
    const embed = await postJson(stepUrl, '/pooling', { input: 'x', task: 'embed' });
    expect(embed.status).toBe(400);
    expect(embed.body.error.message).toContain("input_value=\"embed\"");
  });

  it('the id is "pooling-" + X-Request-Id', async () => {
    const res = await fetch(stepUrl + '/pooling', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'abc-123' }, body: JSON.stringify({ input: 'hi' }) });
    expect((await res.json()).id).toBe('pooling-abc-123');
  });

  it('/invocations answers a pooling body (completion or chat) like /pooling', async () => {
    for (const body of [
      { model: NAME, input: prompt, encoding_format: 'float' },
      { model: NAME, messages: MESSAGES, encoding_format: 'float' },
    ]) {
      const a = await postJson(stepUrl, '/pooling', body);
      const b = await postJson(stepUrl, '/invocations', body);
      expect(b.status).toBe(200);
      expect(Object.keys(b.body).sort()).toEqual(Object.keys(a.body).sort());
      expect(b.body.data).toEqual(a.body.data);
    }
    const bad = await postJson(stepUrl, '/invocations', { input: [1, 'a'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('input');
  });
});

describe("prmkit's vLLM client (Prm.connect) against prmkit's server", () => {
  const items = [
    { problem: QUESTION, steps: STEPS },
    { problem: QUESTION, steps: STEPS.slice(0, 2) }, // a token-prefix of the first chain
    { problem: 'What is 2 + 2?', steps: ['2 + 2 = 4.', 'The answer is 4.'] },
    { problem: 'What is 3 * 3?', steps: ['3 * 3 = 9.'] },
  ];

  it('gives the local scores through the STEP and the ALL pooler', async () => {
    const local = await prm.score(items);
    for (const url of [stepUrl, allUrl]) {
      const remote = await Prm.connect({ vllm: { url, model: NAME }, tokenizer: tokenizerPath, format: 'qwen2.5-math-prm' });
      const got = await remote.score(items);
      got.forEach((g, i) => {
        expect(g.stepProbs).toHaveLength(items[i]!.steps.length);
        g.stepProbs.forEach((p, s) => expect(p).toBeCloseTo(local[i]!.stepProbs[s]!, 5));
        expect(g.score).toBeCloseTo(local[i]!.score, 5);
        expect(g.firstError).toBe(local[i]!.firstError);
      });
      await remote.close();
    }
  });

  it('sends a chain that is a token-prefix of another only once', async () => {
    const server = step;
    const before = metricValue((await get(stepUrl, '/metrics')).text, 'prmkit_chains_scored_total') ?? 0;
    const remote = await Prm.connect({ vllm: { url: stepUrl }, tokenizer: tokenizerPath, format: 'qwen2.5-math-prm' });
    await remote.score(items.slice(0, 2));
    const after = metricValue((await get(stepUrl, '/metrics')).text, 'prmkit_chains_scored_total')!;
    expect(after - before).toBe(1);
    expect(server.context.pooling).not.toBeNull();
    await remote.close();
  });

  it('classifyTokens through the server: probabilities, and raw outputs with activation false', async () => {
    const remote = await Prm.connect({ vllm: { url: allUrl }, tokenizer: tokenizerPath, format: 'qwen2.5-math-prm' });
    const a = await prm.classifyTokens([prompt]);
    const b = await remote.classifyTokens([prompt]);
    b[0]!.probs.forEach((row, t) => row.forEach((p, k) => expect(p).toBeCloseTo(a[0]!.probs[t]![k]!, 6)));
    const za = await prm.classifyTokens([prompt], { activation: false });
    const zb = await remote.classifyTokens([prompt], { activation: false });
    zb[0]!.probs.forEach((row, t) => row.forEach((z, k) => expect(z).toBeCloseTo(za[0]!.probs[t]![k]!, 4)));
    await remote.close();
  });
});
