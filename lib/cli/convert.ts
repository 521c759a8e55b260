// prmkit convert: a Hugging Face PRM checkpoint folder → a folder that `prmkit serve -m DIR`
// and Prm.load({ model: DIR }) open with no other flag. No Python involved.
import { CONVERT_DTYPES, CONVERT_FORMATS } from '../convert/index.js';
import type { ConvertDtype, ConvertResult } from '../convert/index.js';
import { FORMAT_NAMES } from '../formats/index.js';
import { ORM_FORMAT_NAMES } from '../formats/orm.js';
import { intOption, oneOfOption, parse, stringOption } from './args.js';
import { UsageError, write } from './io.js';
import type { CliIo } from './io.js';

const or = (names: readonly string[]) => `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;

export const CONVERT_HELP = `prmkit convert: a Hugging Face reward model checkpoint (PRM or ORM) to prmkit's ONNX layout

usage:
  prmkit convert HF_DIR OUT_DIR [--dtype float32|float16|int8|int4] [--kv-cache] [--format NAME]
                 [--separator TEXT] [--correct-class K] [--attention gqa|plain] [--block N]
                 [--hidden-states | --backbone] [--force]
  prmkit convert PRM_DIR OUT_DIR --reference REF_DIR [--dtype T] [--reference-dtype T]
                 [--beta B] [--log-probs kernel|graph] [--force]

HF_DIR holds config.json, model.safetensors (or shards + model.safetensors.index.json, in
bf16/f16/f32) and tokenizer.json / tokenizer_config.json. OUT_DIR gets model.onnx, its weights
as external data (model.onnx.data), the tokenizer files and prmkit.json; then
  prmkit serve -m OUT_DIR      or      Prm.load({ model: 'OUT_DIR' }) (Orm.load for an ORM)
need nothing else. Weights are read one tensor at a time, so memory stays near a few of the
largest tensors, not the model.

      --dtype T          weights: float32 (default), float16 (half the files, float32 math),
                         int8 (see --int8-form) or int4 (block-wise, onnxruntime MatMulNBits)
      --int8-form F      integer (integer GEMMs: per-channel int8 weights, activations
                         quantized per token as they come), blockwise (MatMulNBits), or auto
                         (default: integer on CPUs with VNNI/AMX or ARM dot products)
      --kv-cache         past_key_values inputs / present outputs, for prm.session(), beam
                         search and shared prefixes (GroupQueryAttention with past
                         keys/values where it runs, else plain attention operators)
      --format NAME      a PRM format: ${or(FORMAT_NAMES)}; or an
                         outcome reward model's: ${or(ORM_FORMAT_NAMES)}
                         (default: from the architecture and the head's tensors)
      --separator TEXT   the trl format's step separator (default "\n", TRL's step_separator;
                         escapes \n and \t are read as newline and tab)
      --correct-class K  the trl format's class meaning "step correct" (default 1)
      --attention A      gqa (onnxruntime's fused GroupQueryAttention; the default where it
                         runs for the model's shape) or plain (any shape; with --kv-cache,
                         rows of different prefixes in one call)
      --attention-chunks N  GroupQueryAttention in N causal chunks per call (default 8; 1:
                         one call, for GPU batches: a chunked graph takes one row per call)
      --block N          block size of block-wise int8/int4 weights (default 16 for int8, 32 for int4)
      --hidden-states    also output last_hidden_state beside the logits, so heads can be
                         trained on the frozen model (prmkit train) and served from it
      --backbone         the decoder without its head (last_hidden_state only), from any
                         checkpoint of a supported family, a plain causal LM included: a base
                         for heads trained with prmkit train; --format then names the text
                         layout those heads read (default trl: a newline after each step)
      --force            replace an earlier conversion in OUT_DIR, or what an unfinished
                         one left there (never a folder of other files); heads trained on
                         it are kept (same checkpoint, --hidden-states or --backbone),
                         else refused

An implicit PRM (EurusPRM: a causal LM trained so that its log-likelihood ratio to a
reference LM is the reward) converts with --reference: both LMs go into OUT_DIR
(policy/, reference/; format eurus-prm), and prm.score gives each step's reward
q_t = beta * sum over response tokens i <= t of (log pi(y_i) - log pi_ref(y_i)).
      --reference DIR    the reference causal LM (same vocabulary as the PRM)
      --reference-dtype T   the reference's weights (default: --dtype)
      --beta B           the reward scale recorded in the folder (default 0.001, the card's)
      --log-probs P      kernel (default: graphs give hidden states, the native LM-head kernel
                         reads the head kept beside them) or graph (graphs end in log-softmax)
`;

const OPTIONS = {
  dtype: { type: 'string' },
  'int8-form': { type: 'string' },
  'attention-chunks': { type: 'string' },
  'kv-cache': { type: 'boolean' },
  format: { type: 'string', short: 'f' },
  separator: { type: 'string' },
  'correct-class': { type: 'string' },
  attention: { type: 'string' },
  block: { type: 'string' },
  'hidden-states': { type: 'boolean' },
  backbone: { type: 'boolean' },
  force: { type: 'boolean' },
  reference: { type: 'string' },
  'reference-dtype': { type: 'string' },
  beta: { type: 'string' },
  'log-probs': { type: 'string' },
} as const;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(b < 2 ** 24 ? 1 : 0)} MiB`;

export function summary(r: ConvertResult, peakRss: number): string {
  const m = r.manifest;
  if (m.implicit) {
    const i = m.implicit;
    return (
      `converted an implicit PRM (${m.format}: ${i.policy.source.architecture} and its reference, ${i.policy.dtype} / ${i.reference.dtype}, beta ${i.beta}) to ${r.output}\n` +
      `  token log-probabilities: ${i.logProbs === 'kernel' ? 'native LM-head kernel over last_hidden_state' : 'in the graph (token_logprobs)'}; attention ${i.policy.attention} / ${i.reference.attention}\n` +
      `  weights ${mib(r.sourceBytes)} read, ${mib(r.outputBytes)} written in ${r.seconds.toFixed(1)} s; peak RSS ${mib(peakRss)} (largest tensor ${mib(r.largestTensorBytes)})\n`
    );
  }
  return (
    `converted ${m.source.architecture} (${m.head.kind === 'none' ? 'a backbone without a head, for prmkit train; ' : m.kind === 'orm' ? 'an outcome reward model, ' : ''}${m.format}${m.head.kind === 'none' ? '' : `, ${m.head.kind} head`}, ${m.dtype}${m.kvCache ? ', KV cache' : ''}) to ${r.output}\n` +
    `  attention: ${m.attention === 'gqa' ? 'GroupQueryAttention' : 'plain'}${m.attentionChunks ? ` in ${m.attentionChunks} causal chunks` : ''} (${r.attentionReason})\n` +
    (r.int8 ? `  int8: ${r.int8.form === 'integer' ? 'integer GEMMs (per-channel weights, per-token activations)' : 'block-wise MatMulNBits'} (${r.int8.why})\n` : '') +
    `  weights ${mib(r.sourceBytes)} read, ${mib(r.outputBytes)} written in ${r.seconds.toFixed(1)} s; ` +
    `peak RSS ${mib(peakRss)} (largest tensor ${mib(r.largestTensorBytes)})\n` +
    (r.keptHeads ? `  kept the trained heads ${r.keptHeads.join(', ')}${m.activeHead ? ` (active: ${m.activeHead})` : ''}\n` : '')
  );
}

export async function runConvert(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS, true);
  if (values['help']) {
    await write(io.stdout, CONVERT_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`convert needs HF_DIR and OUT_DIR, got ${positionals.length} path${positionals.length === 1 ? '' : 's'}`);
  const dtype = oneOfOption(values, 'dtype', CONVERT_DTYPES) as ConvertDtype | undefined;
  const format = oneOfOption(values, 'format', CONVERT_FORMATS);
  const attention = oneOfOption(values, 'attention', ['gqa', 'plain'] as const);
  const blockText = stringOption(values, 'block');
  const block = blockText === undefined ? undefined : Number(blockText);
  if (block !== undefined && !(Number.isInteger(block) && [16, 32, 64, 128, 256].includes(block)))
    throw new UsageError(`--block must be 16, 32, 64, 128 or 256, got ${JSON.stringify(blockText)}`);
  const sepText = stringOption(values, 'separator');
  // a newline is hard to type in a shell argument; \n and \t stand for them
  const separator = sepText?.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
  if (separator === '') throw new UsageError('--separator must not be empty');
  const positive = intOption(values, 'correct-class', 0);
  const int8Form = oneOfOption(values, 'int8-form', ['auto', 'integer', 'blockwise'] as const);
  const chunksText = stringOption(values, 'attention-chunks');
  const attentionChunks = chunksText === undefined ? undefined : Number(chunksText);
  if (attentionChunks !== undefined && !(Number.isInteger(attentionChunks) && attentionChunks >= 1 && attentionChunks <= 64))
    throw new UsageError(`--attention-chunks must be an integer in [1, 64], got ${JSON.stringify(chunksText)}`);
  const kvCache = values['kv-cache'] === true;
  const reference = stringOption(values, 'reference');
  const referenceDtype = oneOfOption(values, 'reference-dtype', CONVERT_DTYPES) as ConvertDtype | undefined;
  const logProbs = oneOfOption(values, 'log-probs', ['kernel', 'graph'] as const);
  const betaText = stringOption(values, 'beta');
  const beta = betaText === undefined ? undefined : Number(betaText);
  if (beta !== undefined && !(Number.isFinite(beta) && beta > 0)) throw new UsageError(`--beta must be a positive number, got ${JSON.stringify(betaText)}`);
  if (reference === undefined && (referenceDtype || logProbs || beta !== undefined))
    throw new UsageError('--reference-dtype, --beta and --log-probs convert an implicit PRM: pass --reference REF_DIR too');
  // the converter is imported only now, so --help and usage errors stay instant
  const { convert } = await import('../convert/index.js');
  const tty = io.stderr.isTTY === true;
  const r = await convert({
    input: positionals[0], output: positionals[1], kvCache, overwrite: values['force'] === true, ...(values['hidden-states'] === true ? { hiddenStates: true } : {}), ...(values['backbone'] === true ? { backbone: true } : {}),
    ...(dtype ? { dtype } : {}), ...(format ? { format } : {}), ...(reference !== undefined ? { reference } : {}), ...(referenceDtype ? { referenceDtype } : {}),
    ...(logProbs ? { logProbs } : {}), ...(beta !== undefined ? { beta } : {}), ...(separator !== undefined ? { separator } : {}), ...(positive !== undefined ? { positive } : {}), ...(attention ? { attention } : {}), ...(block ? { block } : {}),
    ...(int8Form ? { int8Form } : {}), ...(attentionChunks ? { attentionChunks } : {}),
    onProgress: tty ? (line) => void write(io.stderr, `${line}\n`) : undefined,
  });
  await write(io.stdout, summary(r, process.resourceUsage().maxRSS * 1024));
  return 0;
}
