// The model flags every model-using command takes (score, serve, bench, eval processbench),
// and opening the model they name: a local ONNX PRM, a remote vLLM server as the backbone,
// or (for the commands that rank whole solutions: score, serve) a local ONNX ORM. score,
// serve and bench given no model at all open the arithmetic demo PRM the package ships.
import { isOrmFormatName, ORM_FORMAT_NAMES } from '../formats/orm.js';
import type { OrmFormatName } from '../formats/orm.js';
import { manifestFormat, readManifest } from '../model/manifest.js';
import { headFormatSpec, selectedKind, selectHead } from '../model/heads.js';
import { DEMO_NAMES, DEMO_NOTE, requireDemoModel } from '../model/demo.js';
import type { DemoKind } from '../model/demo.js';
import type { FormatSpec } from '../formats/types.js';
import type { OptionSpec, Values } from './args.js';
import { asUsage, intOption, oneOfOption, required, stringOption } from './args.js';
import { CliError, Interrupted, UsageError, write } from './io.js';
import type { CliIo } from './io.js';
import * as is from '../is.js';
import type { Prm, PrmConnectOptions, PrmLoadOptions, TokenizerOptions } from '../prm/index.js';
import type { Orm, OrmLoadOptions } from '../orm/index.js';

export const MODEL_OPTIONS = {
  model: { type: 'string', short: 'm' },
  tokenizer: { type: 'string', short: 't' },
  format: { type: 'string', short: 'f' },
  head: { type: 'string' },
  'head-name': { type: 'string' },
  vllm: { type: 'string' },
  'vllm-api-key': { type: 'string' },
  name: { type: 'string' },
  threads: { type: 'string' },
  workers: { type: 'string' },
  'max-padded-tokens': { type: 'string' },
  'no-snapshot': { type: 'boolean' },
  'max-context': { type: 'string' },
  overflow: { type: 'string' },
  'added-token': { type: 'string', multiple: true },
} as const satisfies OptionSpec;

export const MODEL_HELP = `model:
  -m, --model PATH          the PRM as an .onnx decoder, or a folder from prmkit convert (then -t/-f
                            are optional); with --vllm: the served model name, optional. score and
                            serve also take an outcome reward model (ORM) folder
  -t, --tokenizer PATH      tokenizer.json, or the directory holding it
  -f, --format NAME         qwen2.5-math-prm | math-shepherd | rlhflow | skywork | trl; an ORM's:
                            ${ORM_FORMAT_NAMES.join(' | ')}
      --head PATH           head weights (.safetensors) when the model outputs last_hidden_state
      --head-name NAME      a head trained into the folder (prmkit train), or 'converted' for the
                            checkpoint's own (default: the folder's active head)
      --vllm URL            use a vLLM server (POST URL/pooling) as the backbone; tokenizing stays local
      --vllm-api-key KEY    bearer key for the vLLM server
      --name NAME           model name in reports and the server (default: format:file)
      --threads N           onnxruntime threads per worker
      --workers N           worker threads (onnxruntime sessions), default 1
      --max-padded-tokens N padded tokens (batch x length) per backbone call (default 16384)
      --no-snapshot         map the model's weight files instead of a private snapshot of them
                            (no copy at load; do not change the files while the model is open)
      --max-context N       longest chain in tokens (default: the tokenizer's limit)
      --overflow MODE       longer chains: error (default) | truncate (score the steps that fit)
      --added-token ID=TEXT add or rename a token (e.g. 151651=<extra_0> for the Qwen PRM)
`;

/**
 * What opens the model: the options of Prm.load, Prm.connect or Orm.load; `demo` when no flag
 * named a model and the command falls back to the demo the package ships.
 */
export type ModelSpec = ({ kind: 'onnx'; options: PrmLoadOptions } | { kind: 'vllm'; options: PrmConnectOptions } | { kind: 'orm'; options: OrmLoadOptions }) & { demo?: DemoKind };

/** Flags that name or change which model is read: with none of them, the demo is used. */
const MODEL_NAMING = ['model', 'tokenizer', 'format', 'head', 'head-name', 'vllm', 'vllm-api-key', 'added-token'] as const;

const ONNX_ONLY = ['head', 'head-name', 'threads', 'workers', 'max-padded-tokens', 'no-snapshot'] as const;

function addedTokens(v: unknown): TokenizerOptions['addedTokens'] {
  if (v === undefined) return undefined;
  return (v as string[]).map((spec) => {
    const m = /^(\d+)=(.+)$/s.exec(spec);
    if (!m) throw new UsageError(`--added-token must look like ID=TEXT, got ${is.show(spec)}`);
    return { id: Number(m[1]), content: m[2]!, special: true };
  });
}

/** True when the command line names a model at all (eval can also run a reference scorer). */
export function namesModel(values: Values): boolean {
  return ['model', 'tokenizer', 'format', 'vllm'].some((k) => values[k] !== undefined);
}

function convertedFolder(model: string | undefined, headName: string | undefined): { dir: string; format: FormatSpec | OrmFormatName; orm: boolean } | undefined {
  if (model === undefined) return undefined;
  const m = readManifest(model);
  if (!m) return undefined;
  // a head trained into the folder (prmkit train) decides what the folder is, and reads chains in its own format
  const trained = asUsage(() => selectHead(m, model, headName));
  const orm = selectedKind(m, trained) === 'orm';
  if (trained) return { dir: model, format: headFormatSpec(trained.entry) as FormatSpec | OrmFormatName, orm };
  return { dir: model, format: orm ? (m.format as OrmFormatName) : manifestFormat(m), orm };
}

/**
 * Checks the model flags (no file is opened yet). An ORM (a converted ORM folder, or an ORM
 * format named with -f) is taken only where `options.orm` says the command ranks whole solutions.
 */
export function modelSpec(values: Values, command: string, options: { orm?: boolean; demo?: boolean } = {}): ModelSpec {
  if (options.demo && MODEL_NAMING.every((k) => values[k] === undefined)) return demoSpec(values);
  // a folder written by `prmkit convert` names its own tokenizer and format
  const selected = stringOption(values, 'head') === undefined ? stringOption(values, 'head-name') : 'converted';
  const converted = values['vllm'] === undefined ? convertedFolder(stringOption(values, 'model'), selected) : undefined;
  const named = stringOption(values, 'format');
  if (named !== undefined ? isOrmFormatName(named) : converted?.orm) {
    const what = converted?.orm ? `${converted.dir} is an outcome reward model (format ${converted.format}: one score per solution)` : `format ${named} is an outcome reward model's`;
    if (!options.orm) throw new UsageError(`prmkit ${command} needs a process reward model, and ${what}; prmkit score and prmkit serve take it`);
    if (values['vllm'] !== undefined || values['vllm-api-key'] !== undefined) throw new UsageError(`${what}: it runs on a local ONNX model; --vllm serves PRMs`);
    return { kind: 'orm', options: ormOptions(values, command, converted?.dir) };
  }
  const path = converted && values['tokenizer'] === undefined ? converted.dir : required(values, 'tokenizer', command);
  const added = addedTokens(values['added-token']);
  const common: Omit<PrmConnectOptions, 'vllm'> = {
    tokenizer: added === undefined ? path : { path, addedTokens: added },
    format: (converted && values['format'] === undefined ? converted.format : required(values, 'format', command)) as PrmConnectOptions['format'],
  };
  Object.assign(common, sharedFlags(values));

  const url = stringOption(values, 'vllm');
  if (url !== undefined) {
    const onnxFlag = ONNX_ONLY.find((k) => values[k] !== undefined);
    if (onnxFlag) throw new UsageError(`--${onnxFlag} applies to a local ONNX model, not to --vllm`);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new UsageError(`--vllm must be an http(s) URL, got ${is.show(url)}`);
    const model = stringOption(values, 'model');
    const apiKey = stringOption(values, 'vllm-api-key');
    return { kind: 'vllm', options: { ...common, vllm: { url, ...(model ? { model } : {}), ...(apiKey ? { apiKey } : {}) } } };
  }
  if (values['vllm-api-key'] !== undefined) throw new UsageError('--vllm-api-key needs --vllm URL');
  return { kind: 'onnx', options: { ...common, model: required(values, 'model', command), ...localFlags(values) } };
}

/** The demo PRM, with the flags that do not name a model (--name, --workers, --max-context, ...). */
function demoSpec(values: Values): ModelSpec {
  let model: string;
  try {
    model = requireDemoModel('prm');
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return { kind: 'onnx', demo: 'prm', options: { model, name: DEMO_NAMES.prm, ...sharedFlags(values), ...localFlags(values) } };
}

/** Says, in one stderr line, that the command runs on the demo (nothing when a model was named). */
export async function noteDemo(spec: ModelSpec, io: CliIo): Promise<void> {
  if (spec.demo) await write(io.stderr, `${DEMO_NOTE}\n`);
}

/** --name, --max-context and --overflow, read alike by every kind of model. */
function sharedFlags(values: Values): Pick<OrmLoadOptions, 'name' | 'maxContext' | 'overflow'> {
  const o: Pick<OrmLoadOptions, 'name' | 'maxContext' | 'overflow'> = {};
  const name = stringOption(values, 'name');
  if (name !== undefined) o.name = name;
  const ctx = intOption(values, 'max-context', 1);
  if (ctx !== undefined) o.maxContext = ctx;
  const overflow = oneOfOption(values, 'overflow', ['error', 'truncate'] as const);
  if (overflow !== undefined) o.overflow = overflow;
  return o;
}

/** The flags of a local ONNX model (ONNX_ONLY), read alike for Prm.load and Orm.load. */
function localFlags(values: Values): Pick<OrmLoadOptions, 'head' | 'headName' | 'workers' | 'chunking' | 'snapshot'> {
  const o: Pick<OrmLoadOptions, 'head' | 'headName' | 'workers' | 'chunking' | 'snapshot'> = {};
  const head = stringOption(values, 'head');
  if (head !== undefined) o.head = head;
  const headName = stringOption(values, 'head-name');
  if (headName !== undefined && head !== undefined) throw new UsageError('--head and --head-name both name a head; pass one');
  if (headName !== undefined) o.headName = headName;
  const count = intOption(values, 'workers', 1);
  const threads = intOption(values, 'threads', 1);
  if (count !== undefined || threads !== undefined) o.workers = { ...(count !== undefined ? { count } : {}), ...(threads !== undefined ? { threads } : {}) };
  const padded = intOption(values, 'max-padded-tokens', 1);
  if (padded !== undefined) o.chunking = { maxPaddedTokens: padded };
  if (values['no-snapshot'] === true) o.snapshot = false;
  return o;
}

/** Orm.load's options from the model flags. */
function ormOptions(values: Values, command: string, folder: string | undefined): OrmLoadOptions {
  const added = addedTokens(values['added-token']);
  const path = folder !== undefined && values['tokenizer'] === undefined ? folder : required(values, 'tokenizer', command);
  const o: OrmLoadOptions = { model: required(values, 'model', command), tokenizer: added === undefined ? path : { path, addedTokens: added } };
  const format = stringOption(values, 'format');
  if (format !== undefined) o.format = format as OrmFormatName;
  return { ...o, ...sharedFlags(values), ...localFlags(values) };
}

/**
 * Opens the PRM; onnxruntime is imported only now, so `--help` and usage errors never pay for
 * it. A stop signal that fires while the model loads lets the load finish (ending onnxruntime's
 * threads mid-load is what aborts a process), then closes the model and ends the command:
 * `Interrupted`, exit 130, one line.
 */
export async function openModel(spec: ModelSpec, signal?: AbortSignal): Promise<Prm> {
  if (spec.kind === 'orm') throw new UsageError(`${spec.options.model} is an outcome reward model; this command needs a PRM`);
  return openRanker(spec, signal) as Promise<Prm>;
}

/** Opens the PRM or ORM the spec names (as `openModel`, for the commands that take an ORM). */
export async function openRanker(spec: ModelSpec, signal?: AbortSignal): Promise<Prm | Orm> {
  if (signal?.aborted) throw new Interrupted('interrupted before the model was loaded');
  const { Prm } = await import('../prm/index.js');
  const { Orm } = await import('../orm/index.js');
  const model = await (spec.kind === 'vllm' ? Prm.connect(spec.options) : spec.kind === 'orm' ? Orm.load(spec.options) : Prm.load(spec.options));
  if (signal?.aborted) {
    await model.close();
    throw new Interrupted('interrupted while the model was loading');
  }
  return model;
}
