// Outcome reward model checkpoints: one value per solution, read at the last token. The graph
// is the one a PRM's score head gets (the head runs at every position; an ORM reads only the
// last), so only the detection and the format differ.
// - Qwen2ForRewardModel (Qwen2.5-Math-RM): score = Linear(H,H) → ReLU → Linear(H,1);
// - *ForSequenceClassification with one label (Skywork-Reward-Llama-3.1, a plain sigmoid ORM).
import { ORM_FORMAT_NAMES, isOrmFormatName } from '../formats/orm.js';
import type { OrmFormatName } from '../formats/orm.js';
import type { FormatName } from '../formats/types.js';
import type { Checkpoint } from '../model/safetensors.js';
import type { DecoderSpec } from './config.js';
import type { HeadPlan } from './head-plan.js';

const MLP = ['score.0.weight', 'score.0.bias', 'score.2.weight', 'score.2.bias'];
const LINEAR = ['score.weight', 'score.bias'];

/**
 * The ORM head of a checkpoint, or undefined when it is not an ORM (and no ORM format was
 * asked for). A PRM format named for an ORM checkpoint, or an ORM format for a checkpoint
 * without a one-output score head, is refused.
 */
export function detectOrmHead(spec: DecoderSpec, ck: Checkpoint, format?: FormatName | OrmFormatName): HeadPlan | undefined {
  const arch = spec.architecture;
  const rows = (name: string) => ck.info(name).shape[0] ?? 0;
  const mlp = ck.has('score.0.weight') && ck.has('score.2.weight');
  const byArch = arch === 'Qwen2ForRewardModel' || arch.endsWith('ForSequenceClassification');
  const asked = isOrmFormatName(format);
  if (!byArch && !asked) return undefined;
  if (format !== undefined && !asked)
    throw new RangeError(`a ${arch} checkpoint is an outcome reward model (one score per solution), but format ${format} is a PRM format; pass an ORM format: ${ORM_FORMAT_NAMES.join(', ')}`);
  let plan: HeadPlan;
  if (mlp) {
    plan = { kind: 'prm-mlp', model: 'orm', tensors: MLP.filter((n) => ck.has(n)), outputs: rows('score.2.weight'), format: format ?? 'qwen2.5-math-rm' };
  } else if (ck.has('score.weight')) {
    // Skywork-Reward is the one-label Llama classifier a user meets; another family must say
    const named = format ?? (spec.family === 'llama' ? 'skywork-reward' : undefined);
    plan = { kind: 'token-classification', model: 'orm', tensors: LINEAR.filter((n) => ck.has(n)), outputs: rows('score.weight'), ...(named ? { format: named } : {}) };
  } else {
    throw new RangeError(`${arch || 'this checkpoint'}: an outcome reward model needs a score head ('score.weight', or 'score.0.weight' and 'score.2.weight'), and the checkpoint has neither`);
  }
  if (plan.outputs !== 1)
    throw new RangeError(`${arch}: an outcome reward model's head gives one value, but '${plan.tensors.find((n) => n.endsWith('weight') && n !== 'score.0.weight')}' has ${plan.outputs} rows${asked ? '' : ' (a classifier with several labels is not a reward model)'}`);
  if (!plan.format)
    throw new RangeError(`a ${arch} checkpoint (an outcome reward model) needs its format (--format): one of ${ORM_FORMAT_NAMES.join(', ')}`);
  return plan;
}
