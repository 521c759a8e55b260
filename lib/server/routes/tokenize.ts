// POST /tokenize and /detokenize as vLLM serves them: the served model's own tokenizer, so a
// client can count tokens, find the step tags or build token-id inputs for /pooling. The text
// is held to the limits of every route that tokenizes (characters per input before the
// tokenizer runs, tokens per input after).
import type { FastifyInstance } from 'fastify';
import { chatPrompt } from '../chat/prompt.js';
import type { ServerContext } from '../context.js';
import { ApiError, badRequest, tooLarge } from '../errors.js';
import { checkTexts, tokenizeInSlices } from '../limits.js';
import { checkModelName } from './model-name.js';
import { detokenizeBody, tokenizeBody } from '../schemas.js';
import type { DetokenizeBody, TokenizeBody } from '../schemas.js';

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
  const tokenizer = model.tokenizer;
  app.post<{ Body: TokenizeBody }>('/tokenize', { schema: { body: tokenizeBody } }, async (request): Promise<TokenizeResponse> => {
    const body = request.body;
    checkModelName(body.model, o.modelName);
    if (!tokenizer) throw noTokenizer();
    let text: string;
    let addSpecial: boolean;
    let field: string;
    if (body.prompt !== undefined) {
      text = body.prompt;
      addSpecial = body.add_special_tokens ?? true;
      field = 'prompt';
    } else if (body.messages !== undefined) {
      // vLLM's tokenize chat form adds the generation prompt unless told otherwise
      text = await chatPrompt(ctx, body, true);
      addSpecial = body.add_special_tokens ?? false;
      field = 'messages';
    } else throw badRequest('prompt is required (or messages, for the chat form)', 'prompt');
    checkTexts([text], () => field, o.limits, tokenizer.maxTokenChars);
    const [tokens] = await tokenizeInSlices((texts) => tokenizer.tokenize(texts, { addSpecialTokens: addSpecial }), [text]);
    // an empty prompt is 0 tokens here, as in vLLM; only the limit applies
    if (tokens!.length > o.limits.maxItemTokens) throw tooLarge(`${field} is ${tokens!.length} tokens long; the limit is ${o.limits.maxItemTokens} tokens per input`, field);
    const strs = body.return_token_strs ? tokenizer.tokenStrings(tokens!) : null;
    return { count: tokens!.length, max_model_len: model.maxContext ?? o.limits.maxItemTokens, tokens: tokens!, token_strs: strs };
  });

  app.post<{ Body: DetokenizeBody }>('/detokenize', { schema: { body: detokenizeBody } }, async (request): Promise<DetokenizeResponse> => {
    const body = request.body;
    checkModelName(body.model, o.modelName);
    if (!tokenizer) throw noTokenizer();
    const t = body.tokens.findIndex((id) => !tokenizer.isTokenId(id));
    if (t >= 0) throw badRequest(`tokens[${t}]: token id ${body.tokens[t]} is out of vocabulary`, `tokens[${t}]`);
    return { prompt: tokenizer.detokenize(body.tokens) };
  });
}
