// Generator over /v1/chat/completions. The partial solution is either prefilled as the
// assistant's message and continued (vLLM's `continue_final_message`), or shown in the user
// turn with an instruction to write only the next step (any chat server).
import { oneOf, string } from '../../is.js';
import type { Continuation, GenerateOptions, GenerateRequest, Generator } from '../../interfaces.js';
import { checkGenerateArgs, positiveInt } from '../engine/validate.js';
import { OpenAIClient, splitTokens } from './client.js';
import type { OpenAIEndpointOptions } from './client.js';
import { approxTokens } from './completions.js';
import { OpenAIResponseError } from './errors.js';
import { stepFinish } from './finish.js';
import { mapLimit } from './http.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatGeneratorOptions extends OpenAIEndpointOptions {
  /** Text between steps, also the default stop sequence; default "\n\n". */
  separator?: string;
  system?: string;
  /** 'continue' (default) prefills the assistant turn; 'instruct' asks for the next step in the user turn. */
  prefix?: 'continue' | 'instruct';
  /** Requests in flight (one per prefix); default 8. */
  concurrency?: number;
}

export const DEFAULT_SYSTEM = 'Please reason step by step, and put your final answer within \\boxed{}.';

export class OpenAIChatGenerator implements Generator {
  readonly name: string;
  readonly separator: string;
  private readonly client: OpenAIClient;
  private readonly system?: string;
  private readonly mode: 'continue' | 'instruct';
  private readonly concurrency: number;

  constructor(options: ChatGeneratorOptions) {
    const owner = 'OpenAIChatGenerator';
    this.client = new OpenAIClient(options, owner, ['separator', 'system', 'prefix', 'concurrency']);
    this.name = `chat:${options.model}`;
    this.separator = string(options.separator ?? '\n\n', `${owner}: options.separator`, { nonEmpty: true });
    if (options.system !== undefined) string(options.system, `${owner}: options.system`);
    this.system = options.system ?? DEFAULT_SYSTEM;
    this.mode = oneOf(options.prefix ?? 'continue', `${owner}: options.prefix`, ['continue', 'instruct'] as const);
    this.concurrency = positiveInt(options.concurrency ?? 8, 'options.concurrency', owner);
  }

  messages(problem: string, steps: readonly string[]): ChatMessage[] {
    const sys: ChatMessage[] = this.system ? [{ role: 'system', content: this.system }] : [];
    if (this.mode === 'instruct') {
      const done = steps.length === 0 ? 'No steps yet.' : steps.map((s, i) => `Step ${i + 1}: ${s}`).join('\n');
      return [...sys, { role: 'user', content: `${problem}\n\nSolution so far:\n${done}\n\nWrite only the next step. If it finishes the solution, give the final answer in \\boxed{}.` }];
    }
    const msgs: ChatMessage[] = [...sys, { role: 'user', content: problem }];
    if (steps.length > 0) msgs.push({ role: 'assistant', content: steps.map((s) => s + this.separator).join('') });
    return msgs;
  }

  async generate(requests: readonly GenerateRequest[], options: GenerateOptions = {}): Promise<Continuation[][]> {
    checkGenerateArgs(requests, options, this.name);
    const stop = options.stop ? [...options.stop] : [this.separator];
    const url = `${this.client.baseUrl}/chat/completions`;
    return mapLimit(requests, this.concurrency, async (r, k) => {
      const continuing = this.mode === 'continue' && r.steps.length > 0;
      const res = await this.client.chat(
        {
          messages: this.messages(r.problem, r.steps),
          n: r.n,
          stop,
          ...(continuing ? { continue_final_message: true, add_generation_prompt: false } : {}),
          ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
          ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
          ...(options.topP !== undefined ? { top_p: options.topP } : {}),
          ...(options.seed !== undefined ? { seed: (options.seed + k) >>> 0 } : {}),
        },
        options.signal,
      );
      if (res.choices.length !== r.n) throw new OpenAIResponseError(url, `request ${k} asked for n=${r.n} choices, got ${res.choices.length}`);
      const sorted = [...res.choices].sort((a, b) => a.index - b.index);
      if (sorted.some((c, i) => c.index !== i)) throw new OpenAIResponseError(url, `choice indices are not 0..${r.n - 1}`);
      const texts = sorted.map((c) => c.text.trim());
      const tokens = res.completionTokens !== undefined ? splitTokens(res.completionTokens, texts, options.maxTokens ?? Infinity) : texts.map(approxTokens);
      return sorted.map((c, i) => ({
        text: texts[i],
        tokens: tokens[i],
        finishReason: texts[i] === '' && c.finishReason === 'stop' ? 'eos' : stepFinish(c, stop),
      }));
    });
  }
}
