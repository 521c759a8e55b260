// POST /pooling, vLLM-compatible for `task: "token_classify"`: the request and response JSON
// of vLLM's pooling endpoint, so a client written against a vLLM PRM works unchanged.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { PoolingInput, ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { checkPoolingInputs } from '../limits.js';
import { checkModelName } from './model-name.js';
import { poolingBody } from '../schemas.js';
import type { PoolingBody } from '../schemas.js';
// the wire types the vLLM client of the backbone layer consumes: serving exactly them keeps
// prmkit's server and client honest with each other
import type { PoolingResponse, PoolingResponseData } from '../../backbones/vllm/protocol.js';

/** Tasks a PRM client may send: vLLM's current name and the older ones for the same pooler. */
const TOKEN_TASKS = new Set(['token_classify', 'encode', 'reward']);

export type { PoolingResponse, PoolingResponseData };

function normalizeInput(input: PoolingBody['input']): PoolingInput[] {
  if (typeof input === 'string') return [input];
  if (input.length > 0 && typeof input[0] === 'number') return [input as number[]];
  return input as PoolingInput[];
}

function base64Floats(rows: number[][]): string {
  let n = 0;
  for (const r of rows) n += r.length;
  const buf = Buffer.alloc(n * 4);
  let at = 0;
  for (const r of rows) for (const v of r) at = buf.writeFloatLE(v, at);
  return buf.toString('base64');
}

export function registerPooling(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: PoolingBody }>(
    '/pooling',
    {
      schema: { body: poolingBody },
      onRequest: ctx.shedWhenFull('pooling'),
      // chat-form pooling has no `input`; say so instead of "input is required"
      preValidation: async (request) => {
        const b = request.body as Record<string, unknown> | null;
        if (b && typeof b === 'object' && 'messages' in b && !('input' in b)) {
          throw badRequest('chat-form pooling (`messages`) is not supported; send the rendered text or token ids as `input`', 'messages');
        }
      },
    },
    async (request, reply) => {
      const body = request.body;
      const o = ctx.options;
      const model = o.model;
      checkModelName(body.model, o.modelName);
      if (body.task !== undefined && body.task !== null && !TOKEN_TASKS.has(body.task)) {
        throw badRequest(`task ${JSON.stringify(body.task)} is not served here; this PRM serves "token_classify"`, 'task');
      }
      for (const flag of ['use_activation', 'softmax', 'activation'] as const) {
        if (body[flag] === false) throw badRequest(`${flag}: false (raw logits) is not supported; probabilities are returned`, flag);
      }
      if (body.dimensions !== undefined && body.dimensions !== null) throw badRequest('dimensions applies to embeddings only', 'dimensions');
      if (!ctx.pooling) throw new ApiError(501, 'not_implemented_error', 'this model does not provide token classification', null);

      let inputs = normalizeInput(body.input);
      if (model.isTokenId) {
        inputs.forEach((x, i) => {
          if (typeof x === 'string') return;
          const t = x.findIndex((id) => !model.isTokenId!(id));
          if (t >= 0) {
            const field = Array.isArray(body.input[0]) ? `input[${i}][${t}]` : `input[${t}]`;
            throw badRequest(`${field}: token id ${x[t]} is out of vocabulary`, field);
          }
        });
      }
      const addSpecial = body.add_special_tokens ?? true;
      const truncate = body.truncate_prompt_tokens ?? null;
      // Text is tokenized here, once: the exact counts drive limits and batching, and the
      // model gets ids (no second tokenization in the batch).
      if (inputs.some((x) => typeof x === 'string')) {
        if (model.tokenize) {
          const texts = inputs.filter((x): x is string => typeof x === 'string');
          let ids: number[][];
          try {
            ids = model.tokenize(texts, { addSpecialTokens: addSpecial });
          } catch (err) {
            throw badRequest(`cannot tokenize the input: ${(err as Error).message}`, 'input');
          }
          let t = 0;
          inputs = inputs.map((x) => (typeof x === 'string' ? ids[t++]! : x));
        } else if (!addSpecial || truncate !== null) {
          const param = truncate !== null ? 'truncate_prompt_tokens' : 'add_special_tokens';
          throw badRequest(`${param} on text input needs a model that exposes its tokenizer; send token ids instead`, param);
        }
      }
      if (truncate !== null && truncate !== -1) {
        if (truncate < 1) throw badRequest('truncate_prompt_tokens must be -1 or >= 1', 'truncate_prompt_tokens');
        // vLLM keeps the last k tokens
        inputs = inputs.map((x) => (typeof x === 'string' || x.length <= truncate ? x : x.slice(x.length - truncate)));
      }
      const costs = checkPoolingInputs(inputs, o.limits, model);

      const outputs = await ctx.guarded(request, reply, (signal) => ctx.pooling!.submit(inputs, costs, signal));
      const asBase64 = body.encoding_format === 'base64';
      let tokens = 0;
      const data = outputs.map((out, index): PoolingResponseData => {
        tokens += out.tokens.length;
        return { index, object: 'pooling', data: asBase64 ? base64Floats(out.probs) : out.probs };
      });
      const response: PoolingResponse = {
        id: `pool-${randomUUID().replace(/-/g, '')}`,
        object: 'list',
        created: Math.floor(Date.now() / 1000),
        model: o.modelName,
        data,
        usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null },
      };
      return response;
    },
  );
}
