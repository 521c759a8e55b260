// The `prmkit` command: dispatch, help, exit codes and error printing.
//   0 done · 1 failed (bad file, model error, ...) · 2 usage error · 130 interrupted
// Errors print one line; the stack only with --verbose.
import { readFileSync } from 'node:fs';
import { CliError, UsageError, write } from './io.js';
import type { CliIo } from './io.js';

export const MAIN_HELP = `prmkit: batched process-reward-model (PRM) inference

usage: prmkit <command> [options]

commands:
  score   score reasoning chains from JSONL to JSONL (resumable)
  serve   HTTP scoring service: /v1/score, /v1/rerank, vLLM /pooling, /health, /metrics
  bench   scoring throughput of a model on this machine
  eval    evaluate a PRM (ProcessBench, PRM800K)

options:
  -h, --help      help (also: prmkit <command> --help)
  -v, --verbose   print stack traces on errors
      --version   print the version

exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

type Command = (argv: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  score: async () => (await import('./score.js')).runScore,
  serve: async () => (await import('./serve.js')).runServe,
  bench: async () => (await import('./bench.js')).runBench,
  eval: async () => {
    let mod: { runEvalCommand?: (argv: string[], io: { stdout: CliIo['stdout']; stderr: CliIo['stderr'] }) => Promise<number> };
    try {
      mod = (await import('../eval/cli.js')) as typeof mod;
    } catch (err) {
      throw new CliError(`prmkit eval is not available in this build (${(err as Error).message})`);
    }
    if (typeof mod.runEvalCommand !== 'function') throw new CliError('prmkit eval is not available in this build');
    const run = mod.runEvalCommand;
    return (argv, io) => run(argv, { stdout: io.stdout, stderr: io.stderr });
  },
};

/** Runs `prmkit <argv...>`; resolves to the exit code and never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      await write(io.stderr, MAIN_HELP);
      return 2;
    }
    if (command === '-h' || command === '--help' || command === 'help') {
      if (rest[0] && rest[0] in COMMANDS) return await runCli([rest[0], '--help'], io);
      await write(io.stdout, MAIN_HELP);
      return 0;
    }
    if (command === '--version' || command === '-V') {
      await write(io.stdout, `prmkit ${version()}\n`);
      return 0;
    }
    const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(command)} (expected score, serve, bench or eval)`);
    const run = await load();
    // eval parses its own flags; the others accept --verbose themselves
    return await run(command === 'eval' ? rest.filter((a) => a !== '--verbose') : rest, io);
  } catch (err) {
    const e = err as Error;
    if (err instanceof UsageError) {
      const where = command && Object.hasOwn(COMMANDS, command) ? `prmkit ${command} --help` : 'prmkit --help';
      await write(io.stderr, `prmkit: ${e.message}\nrun '${where}' for usage\n`);
      return 2;
    }
    const message = e instanceof Error ? e.message : String(err);
    await write(io.stderr, `prmkit: ${message}\n${verbose && e instanceof Error && e.stack && !(err instanceof CliError) ? `${e.stack}\n` : ''}`);
    return 1;
  }
}
