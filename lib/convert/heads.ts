// Which head a checkpoint carries, from `architectures` and its tensor names, and which PRM
// format goes with it. Causal LMs used as PRMs keep only their label rows of lm_head: two
// rows instead of a 32k-128k vocabulary.
import type { OrmFormatName } from '../formats/orm.js';
import type { FormatName } from '../formats/types.js';
import { MAX_HEAD_OUTPUTS } from '../model/bounds.js';
import type { Checkpoint } from '../model/safetensors.js';
import type { DecoderSpec } from './config.js';
import type { HeadPlan } from './head-plan.js';
import { detectOrmHead } from './orm-head.js';

/**
 * Each head tensor's shape against the config: [K, hidden] weights with K in [1, 64] (an LM
 * head: [vocab_size, hidden]), [K] biases; `score.0` of a Qwen-style MLP head is [hidden, hidden].
 */
function checkShapes(plan: HeadPlan, spec: DecoderSpec, ck: Checkpoint): HeadPlan {
  const H = spec.hidden;
  let K = 0;
  for (const name of plan.tensors) {
    const t = ck.info(name);
    const bad = (want: string) => new RangeError(`${t.file}: tensor '${name}' has shape [${t.shape.join(', ')}]; ${want}`);
    if (name.endsWith('.bias')) {
      const rows = ck.info(name.replace(/bias$/, 'weight')).shape[0];
      if (t.shape.length !== 1 || t.shape[0] !== rows) throw bad(`a bias of its weight's ${rows} rows is [${rows}]`);
    } else if (plan.kind === 'lm-labels') {
      if (t.shape.length !== 2 || t.shape[0] !== spec.vocab || t.shape[1] !== H) throw bad(`the config (vocab_size ${spec.vocab}, hidden_size ${H}) implies [${spec.vocab}, ${H}]`);
    } else if (name === 'score.0.weight') {
      if (t.shape.length !== 2 || t.shape[0] !== H || t.shape[1] !== H) throw bad(`the config (hidden_size ${H}) implies [${H}, ${H}]`);
    } else {
      if (t.shape.length !== 2 || t.shape[1] !== H || !(t.shape[0] >= 1 && t.shape[0] <= MAX_HEAD_OUTPUTS))
        throw bad(`a head is [K, ${H}] (hidden_size ${H}) with K in [1, ${MAX_HEAD_OUTPUTS}]`);
      K = t.shape[0];
    }
  }
  return plan.kind === 'lm-labels' ? plan : { ...plan, outputs: K };
}

export function detectHead(spec: DecoderSpec, ck: Checkpoint, format?: FormatName | OrmFormatName): HeadPlan {
  return checkShapes(findHead(spec, ck, format), spec, ck);
}

function findHead(spec: DecoderSpec, ck: Checkpoint, format?: FormatName | OrmFormatName): HeadPlan {
  const orm = detectOrmHead(spec, ck, format);
  if (orm) return orm;
  const arch = spec.architecture;
  const rows = (name: string) => ck.info(name).shape[0] ?? 0;
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
