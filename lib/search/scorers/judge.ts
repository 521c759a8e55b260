// An LLM as step judge over chat completions: it is shown the problem and numbered steps and
// must answer one verdict line per step. Answers are parsed strictly (every step, in order,
// nothing else) and re-asked a bounded number of times; never guessed. With several samples,
// P(chain correct after step i) is the share of samples that accept steps 1..i.
import { number } from '../../is.js';
import type { ChainItem, ScoreCallOptions, StepScorer, StepScores } from '../../interfaces.js';
import { checkItems, checkSignal, positiveInt } from '../engine/validate.js';
import { OpenAIClient } from '../openai/client.js';
import type { OpenAIEndpointOptions } from '../openai/client.js';
import { mapLimit } from '../openai/http.js';

export interface JudgeScorerOptions extends OpenAIEndpointOptions {
  /** Verdicts sampled per chain (the request's n); default 1. */
  samples?: number;
  /** Default 0 for one sample, 0.7 for several. */
  temperature?: number;
  /** Re-asks after an unparseable answer; default 2. */
  parseRetries?: number;
  /** Chains judged concurrently; default 8. */
  concurrency?: number;
  maxTokens?: number;
  system?: string;
}

/** The judge's answer could not be read as one verdict per step. */
export class JudgeParseError extends Error {
  override readonly name = 'JudgeParseError';
  constructor(
    readonly detail: string,
    readonly answer: string,
  ) {
    super(`judge answer unreadable: ${detail}; answer was: ${answer.slice(0, 300)}`);
  }
}

const DEFAULT_SYSTEM = 'You are a meticulous grader of step-by-step math solutions.';

export function judgePrompt(item: ChainItem): string {
  const steps = item.steps.map((s, i) => `Step ${i + 1}: ${s}`).join('\n');
  return [
    `Problem:\n${item.problem}`,
    `Solution:\n${steps}`,
    `Judge each step given the problem and the steps before it. Reply with exactly ${item.steps.length} line${item.steps.length === 1 ? '' : 's'}, ` +
      'one per step in order, each of the form "Step <number>: correct" or "Step <number>: incorrect", and nothing else.',
  ].join('\n\n');
}

const VERDICT = /^\**\s*step\s+(\d+)\s*\**\s*:\s*\**\s*(correct|incorrect)\s*\**\.?$/i;

/** One boolean per step, or a JudgeParseError saying what does not fit. */
export function parseVerdicts(answer: string, steps: number): boolean[] {
  const lines = answer
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length !== steps) throw new JudgeParseError(`expected ${steps} verdict lines, got ${lines.length}`, answer);
  return lines.map((line, i) => {
    const m = VERDICT.exec(line);
    if (!m) throw new JudgeParseError(`line ${i + 1} is not "Step ${i + 1}: correct|incorrect"`, answer);
    if (Number(m[1]) !== i + 1) throw new JudgeParseError(`line ${i + 1} judges step ${m[1]}`, answer);
    return m[2].toLowerCase() === 'correct';
  });
}

export class LlmJudgeScorer implements StepScorer {
  readonly name: string;
  private readonly client: OpenAIClient;
  private readonly samples: number;
  private readonly temperature: number;
  private readonly parseRetries: number;
  private readonly concurrency: number;
  private readonly maxTokens?: number;
  private readonly system: string;

  constructor(options: JudgeScorerOptions) {
    const owner = 'LlmJudgeScorer';
    this.client = new OpenAIClient(options, owner, ['samples', 'temperature', 'parseRetries', 'concurrency', 'maxTokens', 'system']);
    this.name = `judge:${options.model}`;
    this.samples = positiveInt(options.samples ?? 1, 'options.samples', owner);
    this.temperature = number(options.temperature ?? (this.samples > 1 ? 0.7 : 0), `${owner}: options.temperature`, 0);
    this.parseRetries = positiveInt(options.parseRetries ?? 2, 'options.parseRetries', owner, 0);
    this.concurrency = positiveInt(options.concurrency ?? 8, 'options.concurrency', owner);
    if (options.maxTokens !== undefined) this.maxTokens = positiveInt(options.maxTokens, 'options.maxTokens', owner);
    this.system = options.system ?? DEFAULT_SYSTEM;
  }

  async score(items: readonly ChainItem[], options: ScoreCallOptions = {}): Promise<StepScores[]> {
    checkItems(items, this.name);
    checkSignal(options.signal, 'options.signal', this.name);
    return mapLimit(items, this.concurrency, async (item) => ({ stepProbs: await this.judge(item, options.signal) }));
  }

  private async judge(item: ChainItem, signal?: AbortSignal): Promise<number[]> {
    const S = item.steps.length;
    if (S === 0) return [];
    const accepted = new Array<number>(S).fill(0);
    let verdicts: boolean[][] = [];
    for (let attempt = 0; ; attempt++) {
      const res = await this.client.chat(
        {
          messages: [
            { role: 'system', content: this.system },
            { role: 'user', content: judgePrompt(item) },
          ],
          n: this.samples,
          temperature: this.temperature,
          ...(this.maxTokens !== undefined ? { max_tokens: this.maxTokens } : {}),
        },
        signal,
      );
      if (res.choices.length !== this.samples)
        throw new Error(`${this.name}: asked for ${this.samples} verdict samples, got ${res.choices.length}`);
      try {
        verdicts = res.choices.map((c) => parseVerdicts(c.text, S));
        break;
      } catch (err) {
        if (!(err instanceof JudgeParseError) || attempt >= this.parseRetries) throw err;
      }
    }
    for (const v of verdicts) {
      let ok = true;
      v.forEach((good, i) => {
        ok = ok && good;
        if (ok) accepted[i]++;
      });
    }
    return accepted.map((a) => a / this.samples);
  }
}
