// Heads trained on a converted folder's hidden states (`prmkit train`), beside the head the
// checkpoint came with: each is `heads/<name>.safetensors` (PyTorch's names: `score.*` for a
// linear head, `score.0.*`/`score.2.*` for the Qwen-style MLP) and an entry in the manifest's
// `heads`; `activeHead` names the one loaders use by default (absent: the converted head).
// A head and the manifest are each written to a temporary file and renamed, so a folder is
// never seen half-written, and an existing head is replaced only when asked.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FormatSpec } from '../formats/types.js';
import type { OrmFormatName } from '../formats/orm.js';
import * as is from '../is.js';
import type { TrainHead } from '../kernels/bce-types.js';
import { MANIFEST, manifestKind } from './manifest.js';
import type { Manifest, ModelKind, TrainedHeadEntry } from './manifest.js';

export type { HeadFormat, TrainedHeadEntry, TrainedHeadSpec } from './manifest.js';
import { insideFolder } from './paths.js';
import { Checkpoint, concatRows } from './safetensors.js';
import { safetensorsBytes } from './safetensors-write.js';

/** The name that selects the head the checkpoint was converted with. */
export const CONVERTED_HEAD = 'converted';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;


export interface SelectedHead {
  name: string;
  entry: TrainedHeadEntry;
}

export function checkHeadName(v: unknown, what = 'name'): string {
  const name = is.string(v, what, { nonEmpty: true });
  if (!NAME.test(name)) throw is.invalidRange(what, 'a head name of letters, digits, ".", "_" and "-" (at most 64, starting with a letter or digit)', name);
  return name;
}

/** Tensor names and shapes of a head's file, in the order of its flat parameters. */
export function headTensors(head: TrainHead, H: number): Array<{ name: string; shape: number[] }> {
  const K = head.outputs;
  if (head.kind === 'linear') return [{ name: 'score.weight', shape: [K, H] }, { name: 'score.bias', shape: [K] }];
  const M = head.hidden;
  return [
    { name: 'score.0.weight', shape: [M, H] }, { name: 'score.0.bias', shape: [M] },
    { name: 'score.2.weight', shape: [K, M] }, { name: 'score.2.bias', shape: [K] },
  ];
}

function checkEntry(v: unknown, name: string, file: string): TrainedHeadEntry {
  const where = `model: ${file} heads.${name}`;
  const e = v as Partial<TrainedHeadEntry> | null;
  if (e === null || typeof e !== 'object') throw new TypeError(`${where} must be an object`);
  if (typeof e.file !== 'string') throw new TypeError(`${where}.file must be a file name`);
  if (e.kind !== 'prm' && e.kind !== 'orm') throw new TypeError(`${where}.kind must be 'prm' or 'orm', got ${is.show(e.kind)}`);
  const h = e.head as Partial<TrainHead> | undefined;
  if (!h || (h.kind !== 'linear' && h.kind !== 'mlp') || (h.outputs !== 1 && h.outputs !== 2) || (h.activation !== 'sigmoid' && h.activation !== 'softmax'))
    throw new TypeError(`${where}.head must be { kind: 'linear' | 'mlp', activation, outputs: 1 | 2, positive }`);
  if (h.kind === 'mlp' && !(Number.isInteger(h.hidden) && (h.hidden as number) > 0)) throw new TypeError(`${where}.head.hidden must be a positive integer`);
  if (!Number.isInteger(e.width) || (e.width as number) < 1) throw new TypeError(`${where}.width must be a positive integer`);
  if (e.format === undefined) throw new TypeError(`${where}.format is missing`);
  return e as TrainedHeadEntry;
}

/**
 * The head a load uses: `name` (CONVERTED_HEAD for the checkpoint's own), else the manifest's
 * active head; undefined means the converted head.
 */
export function selectHead(m: Manifest, dir: string, name?: string): SelectedHead | undefined {
  const file = join(dir, MANIFEST);
  const heads = m.heads ?? {};
  const want = name === undefined ? m.activeHead : checkHeadName(name, 'headName');
  if (want === undefined || want === CONVERTED_HEAD) return undefined;
  if (!Object.hasOwn(heads, want)) {
    const names = [CONVERTED_HEAD, ...Object.keys(heads)];
    throw new RangeError(`${name === undefined ? `model: ${file} names active head` : 'headName'} ${JSON.stringify(want)}, which is not a head of ${dir} (it has ${names.join(', ')})`);
  }
  return { name: want, entry: checkEntry(heads[want], want, file) };
}

/** PRM or ORM: what the selected head (or the converted one) reads. */
export function selectedKind(m: Manifest, sel: SelectedHead | undefined): ModelKind {
  return sel ? sel.entry.kind : manifestKind(m);
}

/** The format spec a loader resolves for a trained head (a trl spec's class count is the head's). */
export function headFormatSpec(entry: TrainedHeadEntry): FormatSpec | OrmFormatName {
  const f = entry.format;
  if (typeof f === 'object' && f.kind === 'trl') return { ...f, classes: 2, positive: 1 };
  return f as FormatSpec | OrmFormatName;
}

/** A head's parameters, flat in the layout of `TrainHead`, checked against its entry. */
export function readHeadParams(dir: string, entry: TrainedHeadEntry): Float32Array {
  const path = insideFolder(dir, entry.file, `model: ${join(dir, MANIFEST)} head file`);
  const ck = Checkpoint.file(path, 'head: ');
  return concatRows(
    headTensors(entry.head, entry.width).map(({ name, shape }) => {
      if (!ck.has(name)) throw new RangeError(`head: ${path} has no tensor '${name}'`);
      return ck.read(name, shape);
    }),
  );
}

function writeAtomic(path: string, bytes: Buffer | string): void {
  const tmp = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export interface WriteHeadOptions {
  /** Replace a head of the same name (default false: an existing head is an error). */
  force?: boolean;
  /** Make it the folder's active head (default true). */
  activate?: boolean;
}

/**
 * Writes `params` as head `name` of the converted folder `dir` and records it in the
 * manifest. Refuses an existing name (an entry or a file) unless `force`.
 */
export function writeHead(dir: string, name: string, entry: Omit<TrainedHeadEntry, 'file' | 'created'>, params: Float32Array, options: WriteHeadOptions = {}): TrainedHeadEntry {
  checkHeadName(name);
  if (name === CONVERTED_HEAD) throw new RangeError(`name ${JSON.stringify(CONVERTED_HEAD)} is the converted model's own head; pick another name`);
  const manifestPath = join(dir, MANIFEST);
  const read = (): Manifest => JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  const file = `heads/${name}.safetensors`;
  const path = join(dir, file);
  if (!options.force && (Object.hasOwn(read().heads ?? {}, name) || existsSync(path)))
    throw new RangeError(`${dir} already has a head named ${JSON.stringify(name)}; pass force (--force) to replace it`);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  let at = 0;
  for (const { name: t, shape } of headTensors(entry.head, entry.width)) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors[t] = { shape, data: params.subarray(at, at + n) };
    at += n;
  }
  if (at !== params.length) throw new RangeError(`params has ${params.length} numbers, the head takes ${at}`);
  mkdirSync(join(dir, 'heads'), { recursive: true });
  writeAtomic(path, safetensorsBytes(tensors, { producer: 'prmkit train', head: JSON.stringify(entry.head) }));
  const full: TrainedHeadEntry = { file, ...entry, created: new Date().toISOString() };
  // read again just before writing: another head written meanwhile is kept
  const m = read();
  m.heads = { ...(m.heads ?? {}), [name]: full };
  if (options.activate ?? true) m.activeHead = name;
  writeAtomic(manifestPath, JSON.stringify(m, null, 2) + '\n');
  return full;
}
