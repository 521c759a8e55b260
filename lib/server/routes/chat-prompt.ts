// The chat form shared by /pooling and /tokenize: vLLM's options, its one combination error,
// and the model's chat template (or the request's own) turning messages into prompt text.
import { badRequest } from '../errors.js';
import { isInputError } from '../../errors.js';
import type { ChatMessages } from '../schemas.js';
import type { ServerModel } from '../types.js';

export interface ChatFields {
  messages?: ChatMessages;
  add_generation_prompt?: boolean;
  continue_final_message?: boolean;
  chat_template?: string | null;
  chat_template_kwargs?: Record<string, unknown> | null;
}

/** `defaultGenerationPrompt`: vLLM's /pooling leaves it off, its /tokenize turns it on. */
export function chatPrompt(model: ServerModel, body: ChatFields, defaultGenerationPrompt = false): string {
  const addGenerationPrompt = body.add_generation_prompt ?? defaultGenerationPrompt;
  const continueFinalMessage = body.continue_final_message ?? false;
  if (addGenerationPrompt && continueFinalMessage)
    throw badRequest('Cannot set both `continue_final_message` and `add_generation_prompt` to True.', 'continue_final_message');
  if (!model.renderChat) throw badRequest('this model cannot render chat messages; send the prompt as `input` text or token ids', 'messages');
  try {
    return model.renderChat(body.messages ?? [], {
      addGenerationPrompt,
      continueFinalMessage,
      chatTemplate: body.chat_template ?? undefined,
      chatTemplateKwargs: body.chat_template_kwargs ?? undefined,
    });
  } catch (err) {
    if (isInputError(err)) throw badRequest(err.message, err.path);
    // the request's own template failing to parse or render is the client's to fix; the
    // model's template failing is the server's
    if (body.chat_template) throw badRequest(`chat_template cannot be rendered: ${(err as Error).message}`, 'chat_template');
    throw err;
  }
}
