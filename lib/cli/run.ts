// The `prmkit` command: dispatch, help, exit codes and error printing.
//   0 done · 1 failed (bad file, model error, ...) · 2 usage error · 130 interrupted
//   · 141 the reader of the output went away (EPIPE)
// Errors print one line, `prmkit <command>: ...`; the stack only with --verbose.
import { readFileSync } from 'node:fs';
import { CliError, Interrupted, UsageError, fileError, write } from './io.js';
import type { CliIo } from './io.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;

interface CommandEntry {
  summary: string;
  /** Imported on use, so one command never pays for another's dependencies. */
  load: () => Promise<Command>;
}

/** Every command: the dispatcher knows nothing else about them. */
export const COMMANDS: Record<string, CommandEntry> = {
  score: { summary: 'score reasoning chains from JSONL to JSONL (resumable)', load: async () => (await import('./score.js')).runScore },
  serve: { summary: 'HTTP scoring service: vLLM /pooling, /score, /tokenize, Jina/Cohere /rerank, /v1/prm/score, /metrics', load: async () => (await import('./serve.js')).runServe },
  bench: { summary: 'scoring throughput of a model on this machine', load: async () => (await import('./bench.js')).runBench },
  eval: { summary: 'evaluate a PRM (ProcessBench), convert PRM800K, label chains (Math-Shepherd)', load: async () => (await import('./eval/index.js')).runEval },
  train: { summary: 'train a PRM or ORM head on a converted model\'s frozen hidden states (BCE), written into its folder', load: async () => (await import('./train.js')).runTrain },
  convert: { summary: 'a Hugging Face PRM checkpoint to an ONNX folder that serve/score/Prm.load open as is', load: async () => (await import('./convert.js')).runConvert },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `prmkit: batched process-reward-model (PRM) inference

usage: prmkit <command> [options]

commands:
${list}

options:
  -h, --help      help (also: prmkit <command> --help)
  -v, --verbose   print stack traces on errors
      --version   print the version

exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted, 141 output pipe closed
`;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs `prmkit <argv...>`; resolves to the exit code and never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const [command, ...rest] = argv;
  const known = command !== undefined && Object.hasOwn(COMMANDS, command);
  const prefix = known ? `prmkit ${command}` : 'prmkit';
  try {
    if (command === undefined) {
      await write(io.stderr, mainHelp());
      return 2;
    }
    if (command === '-h' || command === '--help' || command === 'help') {
      if (rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0])) return await runCli([rest[0], '--help'], io);
      await write(io.stdout, mainHelp());
      return 0;
    }
    if (command === '--version' || command === '-V') {
      await write(io.stdout, `prmkit ${version()}\n`);
      return 0;
    }
    if (!known) throw new UsageError(`unknown command ${JSON.stringify(command)} (expected ${Object.keys(COMMANDS).join(', ')})`);
    const run = await COMMANDS[command]!.load();
    return await run(rest, io);
  } catch (err) {
    return report(err, io, prefix, verbose, known ? `prmkit ${command} --help` : 'prmkit --help');
  }
}

async function report(err: unknown, io: CliIo, prefix: string, verbose: boolean, help: string): Promise<number> {
  const quiet = async (text: string) => {
    try {
      await write(io.stderr, text);
    } catch {
      // stderr itself is gone: the exit code still tells
    }
  };
  if (err instanceof UsageError) {
    await quiet(`${prefix}: ${err.message}\nrun '${help}' for usage\n`);
    return 2;
  }
  // work the stop signal cut short (an AbortSignal-aware read, a wait) ends as an interruption
  if (io.signal?.aborted && (err === io.signal.reason || (err as Error | null)?.name === 'AbortError')) err = new Interrupted();
  const errno = err as NodeJS.ErrnoException;
  const known = err instanceof CliError ? err : fileError(err, typeof errno.path === 'string' ? `cannot ${errno.syscall ?? 'use'} ${errno.path}` : 'I/O failed');
  if (known) {
    await quiet(`${prefix}: ${known.message}\n${verbose && known !== err && err instanceof Error && err.stack ? `${err.stack}\n` : ''}`);
    return known.exitCode;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  await quiet(`${prefix}: ${e.message.split('\n')[0]}\n${verbose && e.stack ? `${e.stack}\n` : ''}`);
  return 1;
}
