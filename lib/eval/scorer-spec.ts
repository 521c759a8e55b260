// `--scorer` specs for the eval command: which StepScorer to build from one string.
//   oracle                                         the labels themselves (sanity line: F1 100)
//   always-correct                                 P = 1 everywhere (sanity line: 0 on erroneous samples)
//   prm:<model.onnx>,<tokenizer>,<format>[,<head>] a local ONNX PRM (Prm.load)
//   vllm:<url>,<tokenizer>,<format>[,<model>]      a remote vLLM PRM behind POST /pooling (Prm.connect;
//                                                  tokenization stays local so boundaries line up)
import type { FormatName } from '../formats/types.js';
import type { StepScorer } from '../interfaces.js';
import { AlwaysCorrectScorer, OracleScorer } from './scorers.js';
import type { LabelledChainRef } from './scorers.js';

export type ScorerSpec =
  | { kind: 'oracle' }
  | { kind: 'always-correct' }
  | { kind: 'prm'; model: string; tokenizer: string; format: string; head?: string }
  | { kind: 'vllm'; url: string; tokenizer: string; format: string; model?: string };

export const SCORER_SPEC_HELP =
  'oracle | always-correct | prm:<model.onnx>,<tokenizer>,<format>[,<head.safetensors>] | vllm:<url>,<tokenizer>,<format>[,<served model>]';

/** Parses a spec string; a RangeError names what is wrong with it. */
export function parseScorerSpec(spec: string): ScorerSpec {
  if (typeof spec !== 'string' || !spec) throw new TypeError(`scorer spec must be a non-empty string (${SCORER_SPEC_HELP})`);
  if (spec === 'oracle' || spec === 'always-correct') return { kind: spec };
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const parts = (colon < 0 ? '' : spec.slice(colon + 1)).split(',').map((x) => x.trim());
  if (kind === 'prm') {
    if (parts.length < 3 || parts.length > 4 || parts.some((x) => !x))
      throw new RangeError(`scorer spec ${spec}: expected prm:<model.onnx>,<tokenizer>,<format>[,<head.safetensors>]`);
    const [model, tokenizer, format, head] = parts as [string, string, string, string?];
    return { kind: 'prm', model, tokenizer, format, ...(head ? { head } : {}) };
  }
  if (kind === 'vllm') {
    if (parts.length < 3 || parts.length > 4 || parts.some((x) => !x))
      throw new RangeError(`scorer spec ${spec}: expected vllm:<url>,<tokenizer>,<format>[,<served model>]`);
    const [url, tokenizer, format, model] = parts as [string, string, string, string?];
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RangeError(`scorer spec ${spec}: ${JSON.stringify(url)} is not a URL (expected vllm:http://host:port,<tokenizer>,<format>)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`scorer spec ${spec}: the vLLM url must be http(s)`);
    return { kind: 'vllm', url, tokenizer, format, ...(model ? { model } : {}) };
  }
  throw new RangeError(`unknown scorer ${JSON.stringify(spec)}; expected ${SCORER_SPEC_HELP}`);
}

/** Context a spec may need: the labelled chains (for the oracle). */
export interface ScorerContext {
  labelled: Iterable<LabelledChainRef>;
}

export interface ClosableScorer {
  scorer: StepScorer;
  /** Releases sessions, workers and connections. */
  close(): Promise<void>;
}

export async function createScorer(spec: ScorerSpec, ctx: ScorerContext): Promise<ClosableScorer> {
  switch (spec.kind) {
    case 'oracle':
      return { scorer: new OracleScorer(ctx.labelled), close: async () => {} };
    case 'always-correct':
      return { scorer: new AlwaysCorrectScorer(), close: async () => {} };
    case 'prm': {
      // loaded lazily: onnxruntime and the tokenizers are heavy, and the sanity scorers and
      // predictions-only runs must not pay for them
      const { Prm } = await import('../prm/index.js');
      const prm = await Prm.load({ model: spec.model, tokenizer: spec.tokenizer, format: spec.format as FormatName, ...(spec.head ? { head: spec.head } : {}) });
      return { scorer: prm, close: () => prm.close() };
    }
    case 'vllm': {
      const { Prm } = await import('../prm/index.js');
      const prm = await Prm.connect({
        vllm: { url: spec.url, ...(spec.model ? { model: spec.model } : {}) },
        tokenizer: spec.tokenizer,
        format: spec.format as FormatName,
      });
      return { scorer: prm, close: () => prm.close() };
    }
  }
}
