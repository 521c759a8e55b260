// A tiny ONNX PRM for tests and benchmarks: a seeded tiny checkpoint of a real PRM family
// (tiny-checkpoint.ts) converted by prmkit's own converter, so everything that runs on it
// runs on the graph `prmkit convert` writes. The options add the graph variants a test
// needs beside the converter's defaults: hidden states out with the head in a file, the
// whole LM head's logits, float16 at the graph's edges.
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AttentionKind } from '../model/manifest.js';
import type { FileSink } from '../convert/folder.js';
import { planConversion, writeModel } from '../convert/plan.js';
import { Checkpoint } from '../model/safetensors.js';
import { createTinyCheckpoint } from './tiny-checkpoint.js';
import type { TinyCheckpointOptions } from './tiny-checkpoint.js';
import { writeSafetensors } from './safetensors-write.js';

/** The checkpoint's options (its family, shape, seed and context), and the graph variant to convert it to. */
export interface TinyModelOptions extends TinyCheckpointOptions {
  /** Directory to write model.onnx, tokenizer.json, tokenizer_config.json (and head.safetensors). */
  dir: string;
  /** 'hidden': `last_hidden_state` + a head file; 'logits': the head is in the graph. */
  output?: 'hidden' | 'logits';
  kvCache?: boolean;
  /**
   * Element type of the model's output and KV cache (default 'float32'). 'float16' imitates
   * a half-precision export: the math stays float32 inside, casts at the edges.
   */
  dtype?: 'float32' | 'float16';
  /** Attention operators (default: the converter's choice for the shape). */
  attention?: AttentionKind;
}

export interface TinyModel {
  model: string;
  tokenizer: string;
  /** head.safetensors, when output is 'hidden'. */
  head?: string;
  /** Tensor names inside `head` (weight, and bias when there is one). */
  headTensors?: { weight: string; bias?: string };
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxPositions: number;
  /** The attention the graph uses. */
  attention: AttentionKind;
}

const WRITES = ['model.onnx', 'model.onnx.data', 'tokenizer.json', 'tokenizer_config.json', 'head.safetensors'];

/** Model files straight into a folder of the caller's (it may hold other files): temporary name, then rename. */
function sinkIn(dir: string): FileSink {
  return {
    partial: (name) => {
      const p = join(dir, `${name}.partial`);
      rmSync(p, { force: true });
      return p;
    },
    commit: (name) => renameSync(join(dir, `${name}.partial`), join(dir, name)),
  };
}

export async function createTinyModel(options: TinyModelOptions): Promise<TinyModel> {
  if (options === null || typeof options !== 'object' || typeof options.dir !== 'string' || options.dir.length === 0)
    throw new TypeError('createTinyModel: options.dir must be a directory path');
  const output = options.output ?? 'hidden';
  if (output !== 'hidden' && output !== 'logits') throw new RangeError(`createTinyModel: output must be 'hidden' or 'logits', got '${String(output)}'`);
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new RangeError(`createTinyModel: dtype must be 'float32' or 'float16', got '${String(dtype)}'`);
  const kvCache = options.kvCache ?? false;
  const ckDir = mkdtempSync(join(tmpdir(), 'prmkit-tiny-checkpoint-'));
  try {
    const ck = createTinyCheckpoint({ ...options, dir: ckDir });
    const format = options.format ?? 'math-shepherd';
    const plan = planConversion(ckDir, { dtype: 'float32', kvCache, format, block: 32, accuracyLevel: 4, attention: options.attention, fusedNorms: true });
    mkdirSync(options.dir, { recursive: true });
    for (const f of WRITES) rmSync(join(options.dir, f), { force: true });
    // one self-contained .onnx file, as small exports are
    writeModel(plan, sinkIn(options.dir), { ...plan.graph, output, lmColumns: 'vocab', ioType: dtype }, { singleFile: true });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(ckDir, f), join(options.dir, f));
    const result: TinyModel = {
      model: join(options.dir, 'model.onnx'), tokenizer: join(options.dir, 'tokenizer.json'), vocabSize: ck.vocabSize,
      hidden: ck.hidden, layers: ck.layers, heads: ck.heads, maxPositions: ck.maxPositions, attention: plan.graph.attention,
    };
    if (output === 'hidden') {
      // the head's tensors, as the checkpoint holds them, for a head applied outside the graph
      const weights = Checkpoint.open(ckDir);
      const names = { weight: ck.head.weight, ...(ck.head.bias ? { bias: ck.head.bias } : {}) };
      result.head = join(options.dir, 'head.safetensors');
      result.headTensors = names;
      writeSafetensors(result.head, Object.fromEntries(Object.values(names).map((n) => [n, { shape: weights.info(n).shape, data: weights.read(n) }])));
    }
    return result;
  } finally {
    rmSync(ckDir, { recursive: true, force: true });
  }
}
