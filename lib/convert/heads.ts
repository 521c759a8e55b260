// Which head a checkpoint carries, from `architectures` and its tensor names, and which PRM
// format goes with it. Causal LMs used as PRMs keep only their label rows of lm_head: two
// rows instead of a 32k-128k vocabulary.
import type { OrmFormatName } from '../formats/orm.js';
import type { FormatName } from '../formats/types.js';
import type { HeadKind } from '../model/manifest.js';
import type { Checkpoint } from '../model/safetensors.js';
import type { DecoderSpec } from './config.js';
import { detectOrmHead } from './orm-head.js';


export interface HeadPlan {
  kind: HeadKind;
  /** Tensor names the head reads. */
  tensors: string[];
  /** 'orm': an outcome reward model, read at the last token (orm-head.ts); absent: a PRM. */
  model?: 'orm';
  /** The format that matches the checkpoint (undefined: the caller must say); an ORM format for an ORM. */
  format?: FormatName | OrmFormatName;
  /** Classes out of the head (label rows for an LM). */
  outputs: number;
}

export function detectHead(spec: DecoderSpec, ck: Checkpoint, format?: FormatName | OrmFormatName): HeadPlan {
  const orm = detectOrmHead(spec, ck, format);
  if (orm) return orm;
  const arch = spec.architecture;
  const rows = (name: string) => ck.info(name).shape[0];
  if (arch === 'Qwen2ForProcessRewardModel' || (ck.has('score.0.weight') && ck.has('score.2.weight'))) {
    for (const n of ['score.0.weight', 'score.2.weight']) if (!ck.has(n)) throw new RangeError(`${arch}: the checkpoint has no '${n}'`);
    return { kind: 'prm-mlp', tensors: ['score.0.weight', 'score.0.bias', 'score.2.weight', 'score.2.bias'].filter((n) => ck.has(n)), format: format ?? 'qwen2.5-math-prm', outputs: rows('score.2.weight') };
  }
  if (ck.has('v_head.summary.weight'))
    return { kind: 'value-head', tensors: ['v_head.summary.weight', 'v_head.summary.bias'].filter((n) => ck.has(n)), format: format ?? 'skywork', outputs: rows('v_head.summary.weight') };
  if (arch.endsWith('ForTokenClassification') || (ck.has('score.weight') && !arch.endsWith('ForCausalLM'))) {
    if (!ck.has('score.weight')) throw new RangeError(`${arch}: the checkpoint has no 'score.weight'`);
    // TRL's PRMTrainer trains AutoModelForTokenClassification: the PRM family that ships this head
    const byArch = arch.endsWith('ForTokenClassification') ? 'trl' : undefined;
    return { kind: 'token-classification', tensors: ['score.weight', 'score.bias'].filter((n) => ck.has(n)), format: format ?? byArch, outputs: rows('score.weight') };
  }
  if (arch.endsWith('ForCausalLM') || ck.has('lm_head.weight') || spec.tiedEmbeddings) {
    const lm = ck.has('lm_head.weight') ? 'lm_head.weight' : 'model.embed_tokens.weight';
    const byFamily: Partial<Record<DecoderSpec['family'], FormatName>> = { mistral: 'math-shepherd', llama: 'rlhflow' };
    return { kind: 'lm-labels', tensors: [lm], format: format ?? byFamily[spec.family], outputs: 2 };
  }
  throw new RangeError(`cannot tell the head of a '${arch || 'unnamed'}' checkpoint (no score.*, v_head.summary.* or lm_head tensors); pass --format`);
}
