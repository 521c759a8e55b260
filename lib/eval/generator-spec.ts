// `--generator` specs for `prmkit eval label`: where Math-Shepherd rollouts come from.
//   openai:<base url>,<model>[,<separator>]   an OpenAI-compatible /v1/completions server (vLLM,
//                                             llama.cpp, Ollama); steps end at the separator
//   arithmetic:<count>,<steps>,<seed>[,<slip rate>[,<hard step rate>]]  prmkit's verifiable
//                                             arithmetic task (the chains must come from the same
//                                             problem set)
import type { Generator } from '../interfaces.js';

export type GeneratorSpec =
  | { kind: 'openai'; baseUrl: string; model: string; separator?: string }
  | { kind: 'arithmetic'; count: number; steps: number; seed: number; slipRate?: number; hardStepRate?: number };

export const GENERATOR_SPEC_HELP =
  'openai:<base url>,<model>[,<separator>] | arithmetic:<count>,<steps>,<seed>[,<slip rate>[,<hard step rate>]]';

// a separator is usually whitespace; written with escapes on a command line
function unescape(s: string): string {
  return s.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

export function parseGeneratorSpec(spec: string): GeneratorSpec {
  if (typeof spec !== 'string' || !spec) throw new TypeError(`generator spec must be a non-empty string (${GENERATOR_SPEC_HELP})`);
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const parts = (colon < 0 ? '' : spec.slice(colon + 1)).split(',');
  if (kind === 'openai') {
    const [baseUrl = '', model = '', separator] = parts.map((p, i) => (i < 2 ? p.trim() : p));
    if (parts.length < 2 || parts.length > 3 || !baseUrl || !model)
      throw new RangeError(`generator spec ${spec}: expected openai:<base url>,<model>[,<separator>]`);
    let u: URL;
    try {
      u = new URL(baseUrl);
    } catch {
      throw new RangeError(`generator spec ${spec}: ${JSON.stringify(baseUrl)} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new RangeError(`generator spec ${spec}: the url must be http(s)`);
    if (separator !== undefined && unescape(separator) === '') throw new RangeError(`generator spec ${spec}: the separator is empty`);
    return { kind: 'openai', baseUrl, model, ...(separator !== undefined ? { separator: unescape(separator) } : {}) };
  }
  if (kind === 'arithmetic') {
    const nums = parts.map((p) => Number(p.trim()));
    if (parts.length < 3 || parts.length > 5 || nums.some((x) => !Number.isFinite(x)))
      throw new RangeError(`generator spec ${spec}: expected arithmetic:<count>,<steps>,<seed>[,<slip rate>[,<hard step rate>]]`);
    const [count, steps, seed, slipRate, hardStepRate] = nums as [number, number, number, number?, number?];
    return {
      kind: 'arithmetic',
      count,
      steps,
      seed,
      ...(slipRate !== undefined ? { slipRate } : {}),
      ...(hardStepRate !== undefined ? { hardStepRate } : {}),
    };
  }
  throw new RangeError(`unknown generator ${JSON.stringify(spec)}; expected ${GENERATOR_SPEC_HELP}`);
}

export async function createGenerator(spec: GeneratorSpec): Promise<Generator> {
  if (spec.kind === 'openai') {
    const { OpenAICompletionsGenerator } = await import('../search/openai/completions.js');
    return new OpenAICompletionsGenerator({ baseUrl: spec.baseUrl, model: spec.model, ...(spec.separator ? { separator: spec.separator } : {}) });
  }
  const { ArithmeticGenerator, createArithmeticProblems } = await import('../search/arithmetic.js');
  const problems = createArithmeticProblems(spec.count, { seed: spec.seed, steps: spec.steps });
  return new ArithmeticGenerator({
    problems,
    seed: spec.seed,
    ...(spec.slipRate !== undefined ? { slipRate: spec.slipRate } : {}),
    ...(spec.hardStepRate !== undefined ? { hardStepRate: spec.hardStepRate } : {}),
  });
}
