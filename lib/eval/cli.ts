// `prmkit eval ...`: ProcessBench evaluation (with a scorer, or metrics only from a predictions
// file), PRM800K conversion and Math-Shepherd labelling. Exit codes: 0 done, 1 failed (bad data,
// a scorer or generator error), 2 usage. Messages only: no stack traces reach the user.
import { HELP, UsageError, write } from './commands/args.js';
import type { EvalIo } from './commands/args.js';
import { labelCommand } from './commands/label.js';
import { prm800kCommand } from './commands/prm800k.js';
import { processbenchCommand } from './commands/processbench.js';

export type { EvalIo } from './commands/args.js';

const COMMANDS: Record<string, (argv: string[], io: EvalIo) => Promise<number>> = {
  processbench: processbenchCommand,
  prm800k: prm800kCommand,
  label: labelCommand,
};

/** Runs `prmkit eval <argv...>`; resolves to the exit code and never throws. */
export async function runEvalCommand(argv: string[], io: EvalIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
      await write(sub === undefined ? io.stderr : io.stdout, HELP);
      return sub === undefined ? 2 : 0;
    }
    const command = Object.hasOwn(COMMANDS, sub) ? COMMANDS[sub] : undefined;
    if (!command) throw new UsageError(`unknown eval command ${JSON.stringify(sub)} (expected ${Object.keys(COMMANDS).join(', ')})`);
    return await command(rest, io);
  } catch (err) {
    const usage = err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    await write(io.stderr, `prmkit eval: ${(err as Error).message}\n${usage ? "run 'prmkit eval --help' for usage\n" : ''}`);
    return usage ? 2 : 1;
  }
}
