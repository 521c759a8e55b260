// Generator over /v1/completions: prefixes become raw prompts, many prompts and samples go in
// one request (vLLM batches them), and generation stops at the step separator.
import { optionalFunction, string } from '../../is.js';
import type { Continuation, GenerateOptions, GenerateRequest, Generator } from '../../interfaces.js';
import { checkGenerateArgs, positiveInt } from '../engine/validate.js';
import { OpenAIClient, splitTokens } from './client.js';
import type { OpenAIEndpointOptions, RawResponse } from './client.js';
import { OpenAIResponseError } from './errors.js';
import { stepFinish } from './finish.js';
import { mapLimit } from './http.js';

export type PromptFormatter = (problem: string, steps: readonly string[], separator: string) => string;

export interface CompletionsGeneratorOptions extends OpenAIEndpointOptions {
  /** Text between steps, also the default stop sequence; default "\n\n". */
  separator?: string;
  /** Builds the prompt for a prefix; default: problem, separator, then each step and a separator. */
  formatPrompt?: PromptFormatter;
  /** Prompts per HTTP request (servers without prompt lists need 1); default 32. */
  maxPromptsPerRequest?: number;
  /** Requests in flight; default 4. */
  concurrency?: number;
  /** Whether the server honours `n` (Ollama does not); default true. Without it, samples are separate prompts. */
  supportsN?: boolean;
}

export const defaultPromptFormatter: PromptFormatter = (problem, steps, sep) =>
  `${problem}${sep}${steps.map((s) => s + sep).join('')}`;

interface Job {
  request: number;
  prompt: string;
  n: number;
}

export class OpenAICompletionsGenerator implements Generator {
  readonly name: string;
  readonly separator: string;
  private readonly client: OpenAIClient;
  private readonly format: PromptFormatter;
  private readonly maxPrompts: number;
  private readonly concurrency: number;
  private readonly supportsN: boolean;

  constructor(options: CompletionsGeneratorOptions) {
    const owner = 'OpenAICompletionsGenerator';
    this.client = new OpenAIClient(options, owner, ['separator', 'formatPrompt', 'maxPromptsPerRequest', 'concurrency', 'supportsN']);
    this.name = `completions:${options.model}`;
    this.separator = string(options.separator ?? '\n\n', `${owner}: options.separator`, { nonEmpty: true });
    optionalFunction(options.formatPrompt, `${owner}: options.formatPrompt`);
    this.format = options.formatPrompt ?? defaultPromptFormatter;
    this.maxPrompts = positiveInt(options.maxPromptsPerRequest ?? 32, 'options.maxPromptsPerRequest', owner);
    this.concurrency = positiveInt(options.concurrency ?? 4, 'options.concurrency', owner);
    this.supportsN = options.supportsN ?? true;
  }

  async generate(requests: readonly GenerateRequest[], options: GenerateOptions = {}): Promise<Continuation[][]> {
    checkGenerateArgs(requests, options, this.name);
    const stop = options.stop ? [...options.stop] : [this.separator];
    const prompts = requests.map((r) => this.format(r.problem, r.steps, this.separator));
    // one job per prompt (n samples), or one per sample when the server ignores n
    const jobs: Job[] = this.supportsN
      ? prompts.map((prompt, request) => ({ request, prompt, n: requests[request].n }))
      : prompts.flatMap((prompt, request) => Array.from({ length: requests[request].n }, () => ({ request, prompt, n: 1 })));
    const chunks: Job[][] = [];
    for (let i = 0; i < jobs.length; ) {
      // a request holds prompts with the same n, since n applies to all of them
      const chunk = [jobs[i++]];
      // without n, each sample is its own request so it gets its own seed
      while (this.supportsN && i < jobs.length && chunk.length < this.maxPrompts && jobs[i].n === chunk[0].n) chunk.push(jobs[i++]);
      chunks.push(chunk);
    }
    const out: Continuation[][] = requests.map(() => []);
    const results = await mapLimit(chunks, this.concurrency, async (chunk, k) => {
      const body: Record<string, unknown> = {
        prompt: chunk.length === 1 ? chunk[0].prompt : chunk.map((j) => j.prompt),
        n: chunk[0].n,
        stop,
        ...(options.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.topP !== undefined ? { top_p: options.topP } : {}),
        // distinct seeds per request, or every chunk would sample the same way
        ...(options.seed !== undefined ? { seed: (options.seed + k) >>> 0 } : {}),
      };
      return this.unpack(await this.client.completions(body, options.signal), chunk, stop, options.maxTokens);
    });
    chunks.forEach((chunk, k) => chunk.forEach((job, j) => out[job.request].push(...results[k][j])));
    return out;
  }

  /** Checks that every prompt got exactly its n choices and turns them into steps. */
  private unpack(res: RawResponse, chunk: readonly Job[], stop: readonly string[], maxTokens?: number): Continuation[][] {
    const n = chunk[0].n;
    const url = `${this.client.baseUrl}/completions`;
    const expected = chunk.length * n;
    if (res.choices.length !== expected) throw new OpenAIResponseError(url, `expected ${expected} choices (${chunk.length} prompts × n=${n}), got ${res.choices.length}`);
    const slots = new Array<(typeof res.choices)[number] | undefined>(expected);
    for (const c of res.choices) {
      if (c.index >= expected || slots[c.index]) throw new OpenAIResponseError(url, `choice index ${c.index} is out of range or repeated`);
      slots[c.index] = c;
    }
    const choices = slots as (typeof res.choices)[number][];
    const texts = choices.map((c) => c.text.trim());
    const tokens = res.completionTokens !== undefined ? splitTokens(res.completionTokens, texts, maxTokens ?? Infinity) : texts.map(approxTokens);
    return chunk.map((_, p) =>
      choices.slice(p * n, p * n + n).map((c, j) => {
        const i = p * n + j;
        const finishReason = texts[i] === '' && c.finishReason === 'stop' ? 'eos' : stepFinish(c, stop);
        return { text: texts[i], tokens: tokens[i], finishReason };
      }),
    );
  }
}

/** When a server reports no usage: about four characters a token. */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
