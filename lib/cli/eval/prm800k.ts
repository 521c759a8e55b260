// `prmkit eval prm800k`: raw PRM800K label records to step-labelled chains (JSON Lines).
import { readPrm800k } from '../../eval/prm800k/read.js';
import { PRM800K_FINISH_REASONS } from '../../eval/prm800k/types.js';
import type { Prm800kFinishReason } from '../../eval/prm800k/types.js';
import { asUsage, intOption, listOption, oneOfOption, parse, stringOption } from '../args.js';
import * as is from '../../is.js';
import { UsageError, write } from '../io.js';
import type { CliIo } from '../io.js';
import { checkReplaceable, jsonLinesOf, writeWhole } from '../output.js';
import { EVAL_HELP } from './help.js';

const OPTIONS = {
  input: { type: 'string' },
  output: { type: 'string' },
  neutral: { type: 'string' },
  human: { type: 'string' },
  alternatives: { type: 'boolean' },
  'finish-reasons': { type: 'string' },
  'skip-control': { type: 'boolean' },
  limit: { type: 'string' },
} as const;

/** What marks a line of a chains file this command wrote. */
const CHAINS_OUTPUT = { what: 'a prmkit prm800k chains file', fields: ['problem', 'steps', 'labels'] } as const;

export async function prm800kCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, EVAL_HELP);
    return 0;
  }
  const input = stringOption(values, 'input');
  if (!input) throw new UsageError('--input FILE.jsonl is required');
  const output = stringOption(values, 'output');
  const neutral = oneOfOption(values, 'neutral', ['correct', 'incorrect'] as const);
  const human = oneOfOption(values, 'human', ['include', 'stop'] as const);
  const reasons = listOption(values, 'finish-reasons');
  for (const r of reasons ?? []) asUsage(() => is.oneOf(r, '--finish-reasons', PRM800K_FINISH_REASONS));
  const limit = intOption(values, 'limit', 1);
  if (output !== undefined) await checkReplaceable(output, 'chains file', jsonLinesOf(CHAINS_OUTPUT));
  const { chains, stats } = await readPrm800k(input, {
    neutralIsCorrect: neutral !== 'incorrect',
    humanSteps: human ?? 'include',
    alternatives: values['alternatives'] === true,
    skipControlQuestions: values['skip-control'] === true,
    ...(reasons ? { finishReasons: reasons as Prm800kFinishReason[] } : {}),
    ...(limit ? { limit } : {}),
  });
  if (output !== undefined) await writeWhole(output, 'chains file', chains.map((c) => JSON.stringify(c) + '\n').join(''));
  const steps = chains.reduce((a, c) => a + c.steps.length, 0);
  const withError = chains.filter((c) => c.firstError >= 0).length;
  const f = stats.byFinishReason;
  await write(
    io.stdout,
    `PRM800K ${input}\n` +
      `records ${stats.records} (found_error ${f.found_error}, solution ${f.solution}, give_up ${f.give_up}, bad_problem ${f.bad_problem}); skipped ${stats.skipped}\n` +
      `chains ${stats.chains} + alternatives ${stats.alternatives}: ${steps} labelled steps, ${withError} chains end in a wrong step\n` +
      (output !== undefined ? `wrote ${output}\n` : ''),
  );
  return 0;
}
