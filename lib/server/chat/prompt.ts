// The chat form shared by /pooling and /tokenize: vLLM's chat options, its refusal of a
// request's own template unless the server trusts them, and messages → prompt text through
// the bounded renderer. Every failure is an ApiError naming the field to fix.
import { ApiError, badRequest, QueueFullError, tooLarge } from '../errors.js';
import type { ChatMessages } from '../schemas.js';
import type { ServerContext } from '../context.js';
import { checkCount } from '../limits.js';
import { TemplateFailure } from './renderer.js';

export interface ChatFields {
  messages?: ChatMessages;
  add_generation_prompt?: boolean;
  continue_final_message?: boolean;
  chat_template?: string | null;
  chat_template_kwargs?: Record<string, unknown> | null;
}

/** vLLM's words, so a client that handles its refusal handles ours. */
export const UNTRUSTED_TEMPLATE =
  'Chat template is passed with request, but --trust-request-chat-template is not set. Refused request with untrusted chat template.';

/** Text parts joined by newlines: how vLLM hands list content to a string-content template. */
function flatten(content: ChatMessages[number]['content']): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text ?? '').join('\n');
}

/** A failed render as the answer: the request's template or input to fix, or the server's. */
function answer(err: unknown, own: boolean, maxChars: number): unknown {
  if (!(err instanceof TemplateFailure)) return err;
  const field = own ? 'chat_template' : 'messages';
  const whose = own ? 'chat_template' : "the model's chat template";
  switch (err.kind) {
    case 'busy':
      return new QueueFullError(`chat rendering is busy: ${err.message}`, 1);
    case 'syntax':
      return own ? badRequest(`chat_template cannot be rendered: ${err.message}`, field) : new ApiError(500, 'server_error', `the model's chat template cannot be used: ${err.message}`, null);
    case 'render':
      return badRequest(`${whose} cannot render these messages: ${err.message}`, field);
    case 'size':
      return tooLarge(`${whose} output is over the limit of ${maxChars} characters (limits.maxItemChars): ${err.message}`, field);
    case 'steps':
    case 'time':
      // the request's own program, or a chat too long for the model's template to render in budget
      return own ? badRequest(`chat_template exceeds the render budget: ${err.message}`, field) : tooLarge(`messages take too long to render: ${err.message}`, field);
  }
}

/** `defaultGenerationPrompt`: vLLM's /pooling leaves it off, its /tokenize turns it on. */
export async function chatPrompt(ctx: ServerContext, body: ChatFields, defaultGenerationPrompt = false): Promise<string> {
  const addGenerationPrompt = body.add_generation_prompt ?? defaultGenerationPrompt;
  const continueFinalMessage = body.continue_final_message ?? false;
  if (addGenerationPrompt && continueFinalMessage)
    throw badRequest('Cannot set both `continue_final_message` and `add_generation_prompt` to True.', 'continue_final_message');
  const tokenizer = ctx.options.model.tokenizer;
  if (!tokenizer) throw badRequest('this model cannot render chat messages; send the prompt as `input` text or token ids', 'messages');
  const kwargs = body.chat_template_kwargs ?? {};
  const own = body.chat_template ?? undefined;
  if ((own !== undefined || (kwargs['chat_template'] !== undefined && kwargs['chat_template'] !== null)) && !ctx.options.trustRequestChatTemplate)
    throw badRequest(UNTRUSTED_TEMPLATE, 'chat_template');
  const source = own ?? tokenizer.chat?.template;
  if (source === undefined)
    throw badRequest('need a chat template and the tokenizer has none; send chat_template or use the completion form (`input`)', 'messages');
  // every message crosses to the template thread and back through the template: count first
  checkCount(body.messages?.length ?? 0, ctx.options.limits.maxItems, 'messages', 'messages');
  const messages = (body.messages ?? []).map((m) => ({ role: m.role, content: flatten(m.content) }));
  const last = messages.at(-1)?.content ?? '';
  if (continueFinalMessage && last.length === 0) throw badRequest('continue_final_message needs a final message with content', 'continue_final_message');
  let text: string;
  try {
    text = await ctx.chat.render(source, {
      ...kwargs,
      messages,
      add_generation_prompt: addGenerationPrompt,
      bos_token: tokenizer.chat?.bosToken ?? '',
      eos_token: tokenizer.chat?.eosToken ?? '',
    });
  } catch (err) {
    throw answer(err, own !== undefined, ctx.chat.budget.maxChars);
  }
  if (!continueFinalMessage) return text;
  // the last message left open: the text ends where its content ends, without the
  // template's end-of-turn, as Hugging Face does
  const at = text.lastIndexOf(last);
  if (at < 0) throw badRequest('continue_final_message needs the final message, as sent, in the rendered chat (the template changes it)', 'continue_final_message');
  return text.slice(0, at + last.length);
}
