// The model flags shared by score, serve and bench, and loading a Prm from them.
import type { OptionSpec } from './args.js';
import { intOption, required, stringOption } from './args.js';
import { UsageError } from './io.js';
import type { Prm, PrmLoadOptions } from '../prm/index.js';

export const MODEL_OPTIONS: OptionSpec = {
  model: { type: 'string', short: 'm' },
  tokenizer: { type: 'string', short: 't' },
  format: { type: 'string', short: 'f' },
  head: { type: 'string' },
  name: { type: 'string' },
  threads: { type: 'string' },
  workers: { type: 'string' },
  'max-batch-tokens': { type: 'string' },
  'max-context': { type: 'string' },
  overflow: { type: 'string' },
  'added-token': { type: 'string', multiple: true },
};

export const MODEL_HELP = `model:
  -m, --model PATH          the PRM as an .onnx decoder
  -t, --tokenizer PATH      tokenizer.json, or the directory holding it
  -f, --format NAME         qwen2.5-math-prm | math-shepherd | rlhflow | skywork
      --head PATH           head weights (.safetensors) when the model outputs last_hidden_state
      --name NAME           model name reported by the server (default: format:file)
      --threads N           onnxruntime threads per worker
      --workers N           worker threads (onnxruntime sessions), default 1
      --max-batch-tokens N  padded tokens per backbone call (default 16384)
      --max-context N       longest chain in tokens (default: the tokenizer's limit)
      --overflow MODE       longer chains: error (default) | truncate
      --added-token ID=TEXT add or rename a token (e.g. 151651=<extra_0> for the Qwen PRM)
`;

function addedTokens(v: unknown): PrmLoadOptions['addedTokens'] {
  if (v === undefined) return undefined;
  return (v as string[]).map((spec) => {
    const m = /^(\d+)=(.+)$/s.exec(spec);
    if (!m) throw new UsageError(`--added-token must look like ID=TEXT, got ${JSON.stringify(spec)}`);
    return { id: Number(m[1]), content: m[2]!, special: true };
  });
}

export function modelLoadOptions(values: Record<string, unknown>, command: string): PrmLoadOptions {
  const overflow = stringOption(values, 'overflow');
  if (overflow !== undefined && overflow !== 'error' && overflow !== 'truncate') throw new UsageError(`--overflow must be error or truncate, got ${JSON.stringify(overflow)}`);
  const o: PrmLoadOptions = {
    model: required(values, 'model', command),
    tokenizer: required(values, 'tokenizer', command),
    format: required(values, 'format', command) as PrmLoadOptions['format'],
  };
  const head = stringOption(values, 'head');
  if (head !== undefined) o.head = head;
  const name = stringOption(values, 'name');
  if (name !== undefined) o.name = name;
  const threads = intOption(values, 'threads', 1);
  if (threads !== undefined) o.threads = threads;
  const workers = intOption(values, 'workers', 1);
  if (workers !== undefined) o.workers = workers;
  const mbt = intOption(values, 'max-batch-tokens', 1);
  if (mbt !== undefined) o.maxBatchTokens = mbt;
  const ctx = intOption(values, 'max-context', 1);
  if (ctx !== undefined) o.maxContext = ctx;
  if (overflow !== undefined) o.overflow = overflow;
  const added = addedTokens(values['added-token']);
  if (added !== undefined) o.addedTokens = added;
  return o;
}

/** Loads the Prm lazily, so `--help` and usage errors never pay for onnxruntime. */
export async function loadPrm(options: PrmLoadOptions): Promise<Prm> {
  const { Prm } = await import('../prm/index.js');
  return Prm.load(options);
}
