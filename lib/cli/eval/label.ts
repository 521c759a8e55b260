// `prmkit eval label`: Math-Shepherd labels for a JSON Lines file of chains, resumable.
import { createGenerator, parseGeneratorSpec } from '../../eval/generator-spec.js';
import { isRecord, readJsonLines } from '../../eval/jsonl.js';
import { labelSteps } from '../../eval/shepherd/label.js';
import type { ShepherdChain } from '../../eval/shepherd/label.js';
import { formatCost } from '../../eval/shepherd/report.js';
import { asUsage, intOption, numberOption, parse, progressWanted, PROGRESS_OPTIONS, stringOption } from '../args.js';
import { UsageError, write } from '../io.js';
import type { CliIo } from '../io.js';
import { checkReplaceable, jsonLinesOf } from '../output.js';
import { Progress } from '../progress.js';
import { EVAL_HELP } from './help.js';

const OPTIONS = {
  ...PROGRESS_OPTIONS,
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
} as const;

/** What marks a line of a labels file (the only kind --overwrite may start over). */
const LABELS_OUTPUT = { what: 'a prmkit labels file', fields: ['steps', 'hardLabels', 'softLabels'] } as const;

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

export async function labelCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, EVAL_HELP);
    return 0;
  }
  const chainsFile = stringOption(values, 'chains');
  const generatorText = stringOption(values, 'generator');
  const output = stringOption(values, 'output');
  if (!chainsFile) throw new UsageError('--chains FILE.jsonl is required');
  if (!generatorText) throw new UsageError('--generator SPEC is required');
  if (!output) throw new UsageError('--output FILE.jsonl is required (it is what makes the run resumable)');
  const spec = asUsage(() => parseGeneratorSpec(generatorText));
  const n = intOption(values, 'n', 1);
  const maxRolloutSteps = intOption(values, 'max-rollout-steps', 1);
  const chainsPerBatch = intOption(values, 'chains-per-batch', 1);
  const limit = intOption(values, 'limit', 1);
  const temperature = numberOption(values, 'temperature', 0, Infinity);
  const maxTokens = intOption(values, 'max-tokens', 1);
  const seed = intOption(values, 'seed', 0, undefined, 0xffffffff);
  const showProgress = progressWanted(values, io.stderr);
  if (values['overwrite']) await checkReplaceable(output, 'labels file', jsonLinesOf(LABELS_OUTPUT));

  const chains = await readChains(chainsFile, limit);
  const generator = await createGenerator(spec);
  const progress = new Progress(io.stderr, { enabled: showProgress && chains.length > 0, total: chains.length, label: 'chains labelled' });
  let run: Awaited<ReturnType<typeof labelSteps>>;
  try {
    run = await labelSteps(chains, {
      generator,
      output,
      ifExists: values['overwrite'] ? 'overwrite' : 'resume',
      ...(n ? { n } : {}),
      ...(maxRolloutSteps ? { maxRolloutSteps } : {}),
      ...(chainsPerBatch ? { chainsPerBatch } : {}),
      generation: {
        ...(temperature !== undefined ? { temperature } : {}),
        ...(maxTokens ? { maxTokens } : {}),
        ...(seed !== undefined ? { seed } : {}),
      },
      onProgress: (done: number) => progress.update(done),
      ...(io.signal ? { signal: io.signal } : {}),
    });
  } catch (err) {
    // ends the bar's line, so no message is printed onto it
    progress.finish();
    if (!io.signal?.aborted) throw err;
    await progress.note(`prmkit eval label: interrupted; the labels finished so far are in ${output}, rerun the same command to go on`);
    return 130;
  }
  progress.finish();
  const { labels, cost } = run;
  const prefixes = labels.reduce((a, l) => a + l.steps.length, 0);
  const good = labels.reduce((a, l) => a + l.hardLabels.filter(Boolean).length, 0);
  await write(
    io.stdout,
    `Math-Shepherd labels: ${labels.length} chains, ${prefixes} steps, ${good} hard-labelled correct -> ${output}\n` + formatCost(cost),
  );
  return 0;
}
