// POST /pooling as vLLM serves a PRM (`task: "token_classify"`): completion form (`input`:
// text, texts, token ids) or chat form (`messages`), vLLM's defaults, errors and truncation,
// STEP rows (only the step-tag tokens) or ALL rows (every token), the activation or the raw
// head outputs, and all four encodings. A client written against a vLLM PRM works unchanged.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { chatPrompt } from '../chat/prompt.js';
import type { PoolingInput, ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { checkCount, checkTexts, checkTokens, tokenizeInSlices } from '../limits.js';
import { checkModelName } from './model-name.js';
import { poolingBody } from '../schemas.js';
import type { PoolingBody } from '../schemas.js';
import { EMBED_DTYPES, ENCODING_FORMATS, ENDIANNESS, encodeBytes, encodeRows } from '../vllm/encoding.js';
import { checkPriority, literal, rejectRemoved, responseId, truncateIds, truncationSize, useActivation } from '../vllm/request.js';
import type { TruncationSide } from '../vllm/request.js';
// the wire types the vLLM client of the backbone layer consumes: serving exactly them keeps
// prmkit's server and client honest with each other
import type { PoolingResponse, PoolingResponseData } from '../../backbones/vllm/protocol.js';

export type { PoolingResponse, PoolingResponseData };

const TASKS = ['token_classify'] as const;
const SIDES: readonly TruncationSide[] = ['right', 'left'];

function normalizeInput(input: NonNullable<PoolingBody['input']>): PoolingInput[] {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as PoolingInput[];
}

export type PoolingHandler = (request: FastifyRequest, reply: FastifyReply, body: PoolingBody) => Promise<unknown>;

/** Registers POST /pooling; returns its handler for /invocations. */
export function registerPooling(app: FastifyInstance, ctx: ServerContext): PoolingHandler {
  const o = ctx.options;
  const model = o.model;
  const tokenizer = model.tokenizer;

  const handle: PoolingHandler = async (request, reply, body) => {
    rejectRemoved(body);
    checkModelName(body.model, o.modelName);
    checkPriority(body.priority);
    literal(body.task, 'task', TASKS, 'token_classify');
    if (body.dimensions !== undefined && body.dimensions !== null) throw badRequest('dimensions is currently not supported', 'dimensions');
    const encoding = literal(body.encoding_format, 'encoding_format', ENCODING_FORMATS, 'float');
    const dtype = literal(body.embed_dtype, 'embed_dtype', EMBED_DTYPES, 'float32');
    const endian = literal(body.endianness, 'endianness', ENDIANNESS, 'native');
    const side = literal(body.truncation_side, 'truncation_side', SIDES, 'right');
    const activation = useActivation(body);
    // raw outputs come from a batcher of their own: one model batch runs with one activation
    const batcher = ctx.pooling && (activation ? ctx.pooling.activated : ctx.pooling.raw);
    if (!batcher) throw new ApiError(501, 'not_implemented_error', 'this model does not provide token classification', null);
    const maxModelLen = model.maxContext ?? o.limits.maxItemTokens;
    const keep = truncationSize(body.truncate_prompt_tokens, maxModelLen);

    let inputs: PoolingInput[];
    let addSpecial: boolean;
    if (body.input !== undefined) {
      inputs = normalizeInput(body.input);
      addSpecial = body.add_special_tokens ?? true;
      if (tokenizer) {
        inputs.forEach((x, i) => {
          if (typeof x === 'string') return;
          const t = x.findIndex((id) => !tokenizer.isTokenId(id));
          if (t >= 0) {
            const field = Array.isArray(body.input![0]) ? `input[${i}][${t}]` : `input[${t}]`;
            throw badRequest(`${field}: token id ${x[t]} is out of vocabulary`, field);
          }
        });
      }
    } else if (body.messages !== undefined) {
      inputs = [await chatPrompt(ctx, body)];
      // the chat template places the special tokens itself
      addSpecial = body.add_special_tokens ?? false;
    } else throw badRequest('input is required (or messages, for the chat form)', 'input');

    // Text is tokenized here, once: the exact counts drive limits and batching, truncation
    // applies to token ids, and the model gets ids (no second tokenization in the batch).
    // Text too long by its length alone never reaches the tokenizer (for the token limits,
    // unless it is to be cut to fit).
    const field = (i: number) => (inputs.length === 1 || i < 0 ? 'input' : `input[${i}]`);
    checkCount(inputs.length, o.limits.maxItems, 'input', 'entries');
    checkTexts(inputs, field, o.limits, tokenizer?.maxTokenChars, keep === null);
    if (inputs.some((x) => typeof x === 'string')) {
      if (tokenizer) {
        const texts = inputs.filter((x): x is string => typeof x === 'string');
        const ids = await tokenizeInSlices((slice) => tokenizer.tokenize(slice, { addSpecialTokens: addSpecial }), texts);
        let t = 0;
        inputs = inputs.map((x) => (typeof x === 'string' ? ids[t++]! : x));
      } else if (!addSpecial || keep !== null) {
        const param = keep !== null ? 'truncate_prompt_tokens' : 'add_special_tokens';
        throw badRequest(`${param} on text input needs a model that exposes its tokenizer; send token ids instead`, param);
      }
    }
    if (keep !== null) inputs = inputs.map((x) => (typeof x === 'string' ? x : truncateIds(x, keep, side)));
    // past the model's own context is vLLM's 400 (the server's configured limits stay 413s)
    if (model.maxContext !== undefined) {
      inputs.forEach((x, i) => {
        if (typeof x === 'string' || x.length <= model.maxContext!) return;
        throw badRequest(
          `This model's maximum context length is ${model.maxContext} tokens. However, you requested ${x.length} tokens in the input for pooling. Please reduce the length of the input.`,
          inputs.length === 1 ? 'input' : `input[${i}]`,
        );
      });
    }
    const costs = checkTokens(inputs, field, o.limits);

    const outputs = await ctx.guarded(reply, (signal) => batcher.submit(inputs, costs, signal));
    const tag = o.compat.stepTagId;
    let tokens = 0;
    const rows = outputs.map((out) => {
      tokens += out.tokens.length;
      return tag === undefined ? out.probs : out.probs.filter((_, t) => out.tokens[t] === tag);
    });
    const id = responseId('pooling', request);
    const created = Math.floor(Date.now() / 1000);
    if (encoding === 'bytes' || encoding === 'bytes_only') {
      const classes = outputs.find((x) => x.probs.length > 0)?.probs[0]!.length ?? 0;
      const { body: bytes, items } = encodeBytes(rows, dtype, endian, classes);
      if (encoding === 'bytes')
        reply.header('metadata', JSON.stringify({ id, created, model: o.modelName, data: items, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
      return reply.type('application/octet-stream').send(bytes);
    }
    const data = rows.map((r, index): PoolingResponseData => ({
      index,
      object: 'pooling',
      data: encoding === 'base64' ? encodeRows(r, dtype, endian).toString('base64') : r,
    }));
    const response: PoolingResponse = {
      id,
      object: 'list',
      created,
      model: o.modelName,
      data,
      usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null },
    };
    return response;
  };

  app.post<{ Body: PoolingBody }>('/pooling', { schema: { body: poolingBody }, onRequest: ctx.shedWhenFull('pooling') }, (request, reply) =>
    handle(request, reply, request.body),
  );
  return handle;
}
