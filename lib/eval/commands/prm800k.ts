// `prmkit eval prm800k`: raw PRM800K label records to step-labelled chains (JSON Lines).
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { readPrm800k } from '../prm800k/read.js';
import { PRM800K_FINISH_REASONS } from '../prm800k/types.js';
import type { Prm800kFinishReason } from '../prm800k/types.js';
import { HELP, list, positive, UsageError, write } from './args.js';
import type { EvalIo } from './args.js';

export async function prm800kCommand(argv: string[], io: EvalIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      input: { type: 'string' },
      output: { type: 'string' },
      neutral: { type: 'string' },
      human: { type: 'string' },
      alternatives: { type: 'boolean' },
      'finish-reasons': { type: 'string' },
      'skip-control': { type: 'boolean' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    await write(io.stdout, HELP);
    return 0;
  }
  if (!values.input) throw new UsageError('--input FILE.jsonl is required');
  if (values.neutral !== undefined && values.neutral !== 'correct' && values.neutral !== 'incorrect')
    throw new UsageError(`--neutral must be correct or incorrect, got ${JSON.stringify(values.neutral)}`);
  if (values.human !== undefined && values.human !== 'include' && values.human !== 'stop')
    throw new UsageError(`--human must be include or stop, got ${JSON.stringify(values.human)}`);
  const reasons = list(values['finish-reasons']);
  for (const r of reasons ?? [])
    if (!PRM800K_FINISH_REASONS.includes(r as Prm800kFinishReason))
      throw new UsageError(`--finish-reasons: unknown ${JSON.stringify(r)} (one of ${PRM800K_FINISH_REASONS.join(', ')})`);
  const limit = positive(values.limit, '--limit');
  const { chains, stats } = await readPrm800k(values.input, {
    neutralIsCorrect: values.neutral !== 'incorrect',
    humanSteps: (values.human as 'include' | 'stop' | undefined) ?? 'include',
    alternatives: values.alternatives ?? false,
    skipControlQuestions: values['skip-control'] ?? false,
    ...(reasons ? { finishReasons: reasons as Prm800kFinishReason[] } : {}),
    ...(limit ? { limit } : {}),
  });
  if (values.output) await writeFile(values.output, chains.map((c) => JSON.stringify(c) + '\n').join(''));
  const steps = chains.reduce((a, c) => a + c.steps.length, 0);
  const withError = chains.filter((c) => c.firstError >= 0).length;
  const f = stats.byFinishReason;
  await write(
    io.stdout,
    `PRM800K ${values.input}\n` +
      `records ${stats.records} (found_error ${f.found_error}, solution ${f.solution}, give_up ${f.give_up}, bad_problem ${f.bad_problem}); skipped ${stats.skipped}\n` +
      `chains ${stats.chains} + alternatives ${stats.alternatives}: ${steps} labelled steps, ${withError} chains end in a wrong step\n` +
      (values.output ? `wrote ${values.output}\n` : ''),
  );
  return 0;
}
