// `prmkit eval <what>`: ProcessBench evaluation (with a model, a reference scorer, or metrics
// only from a predictions file), PRM800K conversion and Math-Shepherd labelling. Errors are
// the dispatcher's: exit 1 for a failure, 2 for a usage error.
import { UsageError, write } from '../io.js';
import type { CliIo } from '../io.js';
import { EVAL_HELP } from './help.js';

type Subcommand = (argv: string[], io: CliIo) => Promise<number>;

const SUBCOMMANDS: Record<string, () => Promise<Subcommand>> = {
  processbench: async () => (await import('./processbench.js')).processbenchCommand,
  prm800k: async () => (await import('./prm800k.js')).prm800kCommand,
  label: async () => (await import('./label.js')).labelCommand,
};

export async function runEval(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    await write(io.stderr, EVAL_HELP);
    return 2;
  }
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    await write(io.stdout, EVAL_HELP);
    return 0;
  }
  const load = Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (!load) throw new UsageError(`unknown eval command ${JSON.stringify(sub)} (expected ${Object.keys(SUBCOMMANDS).join(', ')})`);
  return (await load())(rest, io);
}
