// POST /tokenize and /detokenize as vLLM serves them: the served model's own tokenizer, so a
// client can count tokens, find the step tags or build token-id inputs for /pooling.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { checkModelName } from './model-name.js';
import { detokenizeBody, tokenizeBody } from '../schemas.js';
import type { DetokenizeBody, TokenizeBody } from '../schemas.js';
import { chatPrompt } from './chat-prompt.js';

export interface TokenizeResponse {
  count: number;
  max_model_len: number;
  tokens: number[];
  token_strs: string[] | null;
}

export interface DetokenizeResponse {
  prompt: string;
}

const noTokenizer = () => new ApiError(501, 'not_implemented_error', 'this model does not expose its tokenizer', null);

export function registerTokenize(app: FastifyInstance, ctx: ServerContext): void {
  const o = ctx.options;
  const model = o.model;
  app.post<{ Body: TokenizeBody }>('/tokenize', { schema: { body: tokenizeBody } }, async (request): Promise<TokenizeResponse> => {
    const body = request.body;
    checkModelName(body.model, o.modelName);
    if (!model.tokenize) throw noTokenizer();
    let text: string;
    let addSpecial: boolean;
    if (body.prompt !== undefined) {
      text = body.prompt;
      addSpecial = body.add_special_tokens ?? true;
    } else if (body.messages !== undefined) {
      // vLLM's tokenize chat form adds the generation prompt unless told otherwise
      text = chatPrompt(model, body, true);
      addSpecial = body.add_special_tokens ?? false;
    } else throw badRequest('prompt is required (or messages, for the chat form)', 'prompt');
    const tokens = model.tokenize([text], { addSpecialTokens: addSpecial })[0]!;
    let strs: string[] | null = null;
    if (body.return_token_strs) {
      if (!model.tokenStrings) throw noTokenizer();
      strs = model.tokenStrings(tokens);
    }
    return { count: tokens.length, max_model_len: model.maxContext ?? o.limits.maxItemTokens, tokens, token_strs: strs };
  });

  app.post<{ Body: DetokenizeBody }>('/detokenize', { schema: { body: detokenizeBody } }, async (request): Promise<DetokenizeResponse> => {
    const body = request.body;
    checkModelName(body.model, o.modelName);
    if (!model.detokenize) throw noTokenizer();
    if (model.isTokenId) {
      const t = body.tokens.findIndex((id) => !model.isTokenId!(id));
      if (t >= 0) throw badRequest(`tokens[${t}]: token id ${body.tokens[t]} is out of vocabulary`, `tokens[${t}]`);
    }
    return { prompt: model.detokenize(body.tokens) };
  });
}
