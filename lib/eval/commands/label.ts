// `prmkit eval label`: Math-Shepherd labels for a JSON Lines file of chains, resumable.
import { parseArgs } from 'node:util';
import { createGenerator, parseGeneratorSpec } from '../generator-spec.js';
import { isRecord, readJsonLines } from '../jsonl.js';
import { labelSteps } from '../shepherd/label.js';
import type { ShepherdChain } from '../shepherd/label.js';
import { formatCost } from '../shepherd/report.js';
import { asUsage, HELP, number, positive, UsageError, write } from './args.js';
import type { EvalIo } from './args.js';

function goldOf(v: Record<string, unknown>): unknown {
  return v.goldAnswer ?? v.groundTruthAnswer ?? v.ground_truth_answer;
}

async function readChains(path: string, limit?: number): Promise<ShepherdChain[]> {
  const out: ShepherdChain[] = [];
  for await (const { line, value } of readJsonLines(path)) {
    if (limit !== undefined && out.length >= limit) break;
    const at = `${path}:${line}`;
    if (!isRecord(value)) throw new TypeError(`${at}: expected an object { id, problem, steps, goldAnswer }`);
    const gold = goldOf(value);
    if (typeof value.id !== 'string' || !value.id) throw new TypeError(`${at}: id must be a non-empty string`);
    if (typeof value.problem !== 'string') throw new TypeError(`${at}: problem must be a string`);
    if (!Array.isArray(value.steps) || !value.steps.every((x) => typeof x === 'string')) throw new TypeError(`${at}: steps must be an array of strings`);
    if (typeof gold !== 'string' || !gold.trim()) throw new TypeError(`${at}: chain ${value.id} has no goldAnswer`);
    out.push({ id: value.id, problem: value.problem, steps: value.steps as string[], goldAnswer: gold });
  }
  return out;
}

export async function labelCommand(argv: string[], io: EvalIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      chains: { type: 'string' },
      generator: { type: 'string' },
      output: { type: 'string' },
      overwrite: { type: 'boolean' },
      n: { type: 'string' },
      'max-rollout-steps': { type: 'string' },
      'chains-per-batch': { type: 'string' },
      temperature: { type: 'string' },
      'max-tokens': { type: 'string' },
      seed: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    await write(io.stdout, HELP);
    return 0;
  }
  if (!values.chains) throw new UsageError('--chains FILE.jsonl is required');
  if (!values.generator) throw new UsageError('--generator SPEC is required');
  if (!values.output) throw new UsageError('--output FILE.jsonl is required (it is what makes the run resumable)');
  const generatorText = values.generator;
  const spec = asUsage(() => parseGeneratorSpec(generatorText));
  const n = positive(values.n, '--n');
  const maxRolloutSteps = positive(values['max-rollout-steps'], '--max-rollout-steps');
  const chainsPerBatch = positive(values['chains-per-batch'], '--chains-per-batch');
  const limit = positive(values.limit, '--limit');
  const temperature = number(values.temperature, '--temperature', (x) => Number.isFinite(x) && x >= 0, 'a number >= 0');
  const maxTokens = positive(values['max-tokens'], '--max-tokens');
  const seed = number(values.seed, '--seed', (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff, 'an integer in [0, 2^32)');

  const chains = await readChains(values.chains, limit);
  const generator = await createGenerator(spec);
  const progress = (done: number, total: number) => io.stderr.write(`\rlabelled ${done}/${total} chains`);
  const { labels, cost } = await labelSteps(chains, {
    generator,
    output: values.output,
    ifExists: values.overwrite ? 'overwrite' : 'resume',
    ...(n ? { n } : {}),
    ...(maxRolloutSteps ? { maxRolloutSteps } : {}),
    ...(chainsPerBatch ? { chainsPerBatch } : {}),
    generation: {
      ...(temperature !== undefined ? { temperature } : {}),
      ...(maxTokens ? { maxTokens } : {}),
      ...(seed !== undefined ? { seed } : {}),
    },
    onProgress: progress,
  });
  if (chains.length) io.stderr.write('\n');
  const prefixes = labels.reduce((a, l) => a + l.steps.length, 0);
  const good = labels.reduce((a, l) => a + l.hardLabels.filter(Boolean).length, 0);
  await write(
    io.stdout,
    `Math-Shepherd labels: ${labels.length} chains, ${prefixes} steps, ${good} hard-labelled correct -> ${values.output}\n` + formatCost(cost),
  );
  return 0;
}
