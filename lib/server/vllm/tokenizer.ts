// What the vLLM routes need from a Prm's tokenizer beyond encoding: the step-tag token of its
// format (for STEP pooling) and chat rendering with vLLM's chat options.
import { Template } from '@huggingface/jinja';
import { PrmInputError } from '../../errors.js';
import { lastTokenId } from '../../formats/errors.js';
import { QWEN_PRM_SEPARATOR } from '../../formats/qwen-math-prm.js';
import { SHEPHERD_TAG } from '../../formats/math-shepherd.js';
import type { PrmFormat } from '../../formats/types.js';
import type { PrmTokenizer } from '../../tokenize/tokenizer.js';
import type { ModelChatMessage, ModelChatOptions } from '../types.js';

/**
 * The token vLLM's STEP pooler reads for this format: `<extra_0>` (151651 in the Qwen PRM
 * tokenizer) and Math-Shepherd's `ки`. Formats whose step mark is not one token have none.
 */
export function stepTagOf(format: PrmFormat, tokenizer: PrmTokenizer): number | undefined {
  if (format.name === 'qwen2.5-math-prm') return tokenizer.tokenToId(QWEN_PRM_SEPARATOR);
  if (format.name === 'math-shepherd') return lastTokenId(tokenizer, ` ${SHEPHERD_TAG}`, 'math-shepherd step tag');
  return undefined;
}

function templateSource(tokenizer: PrmTokenizer): string | undefined {
  const t = tokenizer.config['chat_template'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const d = (t as Array<{ name?: string; template?: string }>).find((x) => x.name === 'default');
    if (d && typeof d.template === 'string') return d.template;
  }
  return undefined;
}

/** Text parts joined by newlines: how vLLM hands list content to a string-content template. */
function flatten(content: ModelChatMessage['content']): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => p.text ?? '').join('\n');
}

const compiled = new Map<string, Template>();

/**
 * Messages → prompt text. `continueFinalMessage` leaves the last message open (the text ends
 * where its content ends, without the template's end-of-turn), as Hugging Face does.
 */
export function renderChat(tokenizer: PrmTokenizer, messages: readonly ModelChatMessage[], options: ModelChatOptions): string {
  const source = options.chatTemplate ?? templateSource(tokenizer);
  if (source === undefined) throw new PrmInputError('messages', 'need a chat template and the tokenizer has none; send chat_template or use the completion form (`input`)');
  let template = compiled.get(source);
  if (!template) {
    template = new Template(source);
    if (compiled.size > 32) compiled.clear();
    compiled.set(source, template);
  }
  const msgs = messages.map((m) => ({ role: m.role, content: flatten(m.content) }));
  const text = template.render({
    ...(options.chatTemplateKwargs ?? {}),
    messages: msgs,
    add_generation_prompt: options.addGenerationPrompt,
    bos_token: tokenizer.bosToken ?? '',
    eos_token: tokenizer.eosToken ?? '',
  });
  if (!options.continueFinalMessage) return text;
  const last = msgs.at(-1)!.content;
  const at = text.lastIndexOf(last);
  if (last.length === 0 || at < 0) throw new PrmInputError('continue_final_message', 'needs the final message, as sent, in the rendered chat (it is empty, or the template changes it)');
  return text.slice(0, at + last.length);
}
