// prmkit.json checked field by field before anything uses it: every file it names resolves
// inside its folder, every number that sizes something is inside the bounds a converted model
// can have, and label ids fit the vocabulary. Errors name the file and the field.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FORMAT_NAMES } from '../formats/index.js';
import { ORM_FORMAT_NAMES } from '../formats/orm.js';
import * as is from '../is.js';
import { MAX_HEAD_OUTPUTS, MODEL_BOUNDS } from './bounds.js';
import { insideFolder } from './paths.js';

/** Weight types of a converted model: float, or quantized integers. */
export const MODEL_DTYPES = ['float32', 'float16', 'int8', 'int4'] as const;
/**
 * The head a checkpoint carried, as the converter found it ('lm-logprobs': an implicit PRM's
 * causal LMs, read as log-probabilities of their next tokens; 'none': a backbone converted
 * without one, for heads trained with prmkit train).
 */
export const HEAD_KINDS = ['prm-mlp', 'token-classification', 'value-head', 'lm-labels', 'lm-logprobs', 'none'] as const;
const ATTENTION = ['gqa', 'plain'] as const;

type Fields = Record<string, unknown>;

/** A file the manifest names: inside `dir`, and (when `must`) a regular file that exists. */
function file(dir: string, name: unknown, field: string, must: boolean): void {
  const path = insideFolder(dir, name, field);
  if (must && !(existsSync(path) && statSync(path).isFile())) throw new TypeError(`${field} names ${JSON.stringify(name)}, which is missing from ${dir}`);
}

function decoder(v: unknown, at: string): { layers: number; kvHeads: number; headDim: number; vocab: number } {
  const d = is.object(v, at);
  const n = (k: string, max: number) => is.integer(d[k], `${at}.${k}`, 1, max);
  is.string(d.family, `${at}.family`, { nonEmpty: true });
  const heads = n('heads', MODEL_BOUNDS.num_attention_heads);
  const kvHeads = n('kvHeads', heads);
  if (heads % kvHeads !== 0) throw is.invalidRange(`${at}.kvHeads`, `a divisor of heads (${heads})`, kvHeads);
  n('hidden', MODEL_BOUNDS.hidden_size);
  n('layers', MODEL_BOUNDS.num_hidden_layers);
  n('headDim', MODEL_BOUNDS.head_dim);
  n('intermediate', MODEL_BOUNDS.intermediate_size);
  n('vocab', MODEL_BOUNDS.vocab_size);
  return d as { layers: number; kvHeads: number; headDim: number; vocab: number };
}

function head(v: unknown, at: string, vocab: number): { kind: string; outputs: number } {
  const h = is.object(v, `${at} head`);
  const kind = is.oneOf(h.kind, `${at} head.kind`, HEAD_KINDS);
  // a backbone converted without a head has none of its own (its heads are trained into the folder)
  const outputs = kind === 'none' ? is.integer(h.outputs, `${at} head.outputs`, 0, 0) : is.integer(h.outputs, `${at} head.outputs`, 1, MAX_HEAD_OUTPUTS);
  if ((kind === 'lm-labels') !== (h.labels !== undefined)) throw new TypeError(`${at} head.labels must be given exactly when head.kind is 'lm-labels'`);
  if (h.labels !== undefined) {
    if (!Array.isArray(h.labels) || h.labels.length !== outputs) throw is.invalidType(`${at} head.labels`, `a list of ${outputs} { text, id } (one per output)`, h.labels);
    h.labels.forEach((l: unknown, i: number) => {
      const o = is.object(l, `${at} head.labels[${i}]`);
      is.string(o.text, `${at} head.labels[${i}].text`, { nonEmpty: true });
      is.integer(o.id, `${at} head.labels[${i}].id`, 0, vocab - 1);
    });
  }
  return { kind, outputs };
}

function kvCache(v: unknown, at: string, dec: { layers: number; kvHeads: number; headDim: number }): void {
  if (v === null) return;
  const k = is.object(v, `${at} kvCache`, 'null or an object { layers, kvHeads, headDim, type, layout, attention }');
  for (const key of ['layers', 'kvHeads', 'headDim'] as const) is.integer(k[key], `${at} kvCache.${key}`, dec[key], dec[key]);
  is.oneOf(k.type, `${at} kvCache.type`, ['float32'] as const);
  is.string(k.layout, `${at} kvCache.layout`);
  if (k.attention !== undefined) is.oneOf(k.attention, `${at} kvCache.attention`, ['gqa', 'plain'] as const);
}

function quantization(v: unknown, at: string): void {
  if (v === undefined) return;
  const q = is.object(v, at);
  const scheme = is.oneOf(q.scheme, `${at}.scheme`, ['MatMulNBits', 'integer'] as const);
  if (scheme === 'integer') {
    is.integer(q.bits, `${at}.bits`, 8, 8);
    is.oneOf(q.weights, `${at}.weights`, ['per-channel'] as const);
    is.string(q.activations, `${at}.activations`, { nonEmpty: true });
    return;
  }
  is.oneOf(String(q.bits), `${at}.bits`, ['4', '8']);
  is.integer(q.block, `${at}.block`, 16, 256);
  is.integer(q.accuracyLevel, `${at}.accuracyLevel`, 0, 4);
}

/** An implicit PRM's two models: each one's files inside the folder, its numbers bounded. */
function implicit(v: unknown, at: string, dir: string): void {
  const im = is.object(v, `${at} implicit`);
  is.number(im.beta, `${at} implicit.beta`, 0, Infinity, { openMin: true });
  is.oneOf(im.logProbs, `${at} implicit.logProbs`, ['kernel', 'graph'] as const);
  for (const side of ['policy', 'reference'] as const) {
    const w = `${at} implicit.${side}`;
    const m = is.object(im[side], w);
    file(dir, m.model, `${w}.model`, true);
    file(dir, m.data, `${w}.data`, false);
    if (m.head !== undefined) file(dir, m.head, `${w}.head`, true);
    is.oneOf(m.dtype, `${w}.dtype`, MODEL_DTYPES);
    decoder(m.decoder, `${w}.decoder`);
    quantization(m.quantization, `${w}.quantization`);
    is.oneOf(m.attention, `${w}.attention`, ATTENTION);
    is.boolean(m.fusedNorms, `${w}.fusedNorms`);
  }
}

/**
 * `v` (parsed from `dir`/prmkit.json) as a manifest, or a TypeError/RangeError naming the
 * field. The object itself is returned: fields it does not know pass through unchecked
 * (trained heads are checked where they are selected, lib/model/heads.ts).
 */
export function checkManifest(v: unknown, dir: string): Fields {
  const at = `model: ${join(dir, 'prmkit.json')}:`;
  const m = is.object(v, at) as Fields;
  const kind = m.kind === undefined ? 'prm' : is.oneOf(m.kind, `${at} kind`, ['prm', 'orm'] as const);
  const format = is.oneOf(m.format, `${at} format`, kind === 'orm' ? ORM_FORMAT_NAMES : FORMAT_NAMES);
  const dec = decoder(m.decoder, `${at} decoder`);
  const hd = head(m.head, at, dec.vocab);
  if (m.formatOptions !== undefined) {
    if (format !== 'trl') throw new TypeError(`${at} formatOptions is set for format ${format}; only trl has settings`);
    const f = is.object(m.formatOptions, `${at} formatOptions`);
    is.knownKeys(f, ['separator', 'positive'], `${at} formatOptions`);
    is.string(f.separator, `${at} formatOptions.separator`, { nonEmpty: true });
    // a backbone's trl layout has no head of its own: two classes, as the format's default
    is.integer(f.positive, `${at} formatOptions.positive`, 0, (hd.kind === 'none' ? 2 : hd.outputs) - 1);
  }
  file(dir, m.model, `${at} model`, true);
  file(dir, m.data, `${at} data`, false);
  file(dir, m.tokenizer, `${at} tokenizer`, true);
  // the loader reads the tokenizer files by their usual names: they too must stay inside
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) insideFolder(dir, f, `${at} ${f}`);
  is.oneOf(m.dtype, `${at} dtype`, MODEL_DTYPES);
  is.integer(m.contextLength, `${at} contextLength`, 1, MODEL_BOUNDS.max_position_embeddings);
  kvCache(m.kvCache, at, dec);
  quantization(m.quantization, `${at} quantization`);
  is.boolean(m.fusedNorms, `${at} fusedNorms`);
  if (m.hiddenStates !== undefined) is.boolean(m.hiddenStates, `${at} hiddenStates`);
  is.oneOf(m.attention, `${at} attention`, ATTENTION);
  if (m.attentionChunks !== undefined) is.integer(m.attentionChunks, `${at} attentionChunks`, 1, 64);
  if (m.heads !== undefined) is.object(m.heads, `${at} heads`);
  if (m.activeHead !== undefined) is.string(m.activeHead, `${at} activeHead`, { nonEmpty: true });
  if (m.implicit !== undefined) implicit(m.implicit, at, dir);
  if (m.source !== undefined) is.object(m.source, `${at} source`);
  return m;
}
