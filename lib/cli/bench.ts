// prmkit bench: scoring throughput of a PRM on this machine, per batch size: chains/s,
// steps/s, backbone tokens/s and per-call latency. Chains come from a JSONL file or are
// generated (deterministic arithmetic chains of a chosen length).
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChainItem } from '../interfaces.js';
import { show } from '../is.js';
import { intOption, parse, stringOption } from './args.js';
import { parseChainLine } from './input.js';
import { CliError, UsageError, fileError, write } from './io.js';
import type { CliIo } from './io.js';
import { MODEL_HELP, MODEL_OPTIONS, modelSpec, noteDemo, openModel } from './model-options.js';

export const BENCH_HELP = `prmkit bench: scoring throughput of a PRM

usage:
  prmkit bench -m MODEL -t TOKENIZER -f FORMAT [--input chains.jsonl | --chains N --steps S] [options]
  prmkit bench [...]   no model named: the built-in arithmetic demo PRM

      --input PATH          JSONL chains {"problem", "steps"} (default: generated chains)
      --chains N            generated chains (default 256)
      --steps S             steps per generated chain (default 6)
      --batch-sizes LIST    chains per score() call, comma-separated (default 1,8,32)
      --repeat R            passes over the chains per batch size (default 3; the first is a warm-up)
      --json PATH           also write the results as JSON

${MODEL_HELP}`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  input: { type: 'string', short: 'i' },
  chains: { type: 'string' },
  steps: { type: 'string' },
  'batch-sizes': { type: 'string' },
  repeat: { type: 'string' },
  json: { type: 'string' },
} as const;

export interface BenchRow {
  batchSize: number;
  calls: number;
  chainsPerSecond: number;
  stepsPerSecond: number;
  tokensPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Arithmetic chains whose length grows with `steps`; the same arguments give the same text. */
export function syntheticChains(n: number, steps: number): ChainItem[] {
  return Array.from({ length: n }, (_, i) => {
    const a = 3 + ((i * 7) % 40);
    const b = 2 + ((i * 11) % 17);
    const out: string[] = [];
    let v = a;
    for (let s = 0; s < steps; s++) {
      const next = s % 2 === 0 ? v + b : v * 2;
      out.push(s % 2 === 0 ? `Adding ${b} to ${v} gives ${next}.` : `Doubling ${v} gives ${next}.`);
      v = next;
    }
    return { problem: `Start from ${a}; alternately add ${b} and double, ${steps} times. What do you get?`, steps: out };
  });
}

async function readChains(path: string): Promise<ChainItem[]> {
  try {
    statSync(path);
  } catch (err) {
    throw fileError(err, `cannot read input ${path}`) ?? err;
  }
  const out: ChainItem[] = [];
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    n++;
    if (line.trim().length === 0) continue;
    const { item } = parseChainLine(line, n);
    out.push({ problem: item.problem, steps: (item as ChainItem).steps });
  }
  if (out.length === 0) throw new CliError(`input ${path} holds no chains`);
  return out;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function formatTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(1)) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n') + '\n';
}

export async function runBench(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, BENCH_HELP);
    return 0;
  }
  const spec = modelSpec(values, 'bench', { demo: true });
  const input = stringOption(values, 'input');
  const nChains = intOption(values, 'chains', 1, 256)!;
  const nSteps = intOption(values, 'steps', 1, 6)!;
  const repeat = intOption(values, 'repeat', 2, 3)!;
  const sizesText = stringOption(values, 'batch-sizes') ?? '1,8,32';
  const sizes = sizesText.split(',').map((s) => Number(s.trim()));
  if (sizes.some((s) => !Number.isInteger(s) || s < 1)) throw new UsageError(`--batch-sizes must be positive integers separated by commas, got ${show(sizesText)}`);
  const jsonPath = stringOption(values, 'json');

  const chains = input ? await readChains(input) : syntheticChains(nChains, nSteps);
  await noteDemo(spec, io);
  const prm = await openModel(spec, io.signal);
  const rows: BenchRow[] = [];
  try {
    const tokens = prm.countTokens(chains);
    const totalTokens = tokens.reduce((a, b) => a + b, 0);
    const totalSteps = chains.reduce((a, c) => a + c.steps.length, 0);
    for (const size of sizes) {
      const latencies: number[] = [];
      let seconds = 0;
      for (let pass = 0; pass < repeat; pass++) {
        const t0 = performance.now();
        for (let s = 0; s < chains.length; s += size) {
          if (io.signal?.aborted) throw new CliError('interrupted');
          const c0 = performance.now();
          await prm.score(chains.slice(s, s + size));
          if (pass > 0) latencies.push(performance.now() - c0);
        }
        if (pass > 0) seconds += (performance.now() - t0) / 1000;
      }
      const passes = repeat - 1;
      latencies.sort((a, b) => a - b);
      rows.push({
        batchSize: size,
        calls: latencies.length,
        chainsPerSecond: (chains.length * passes) / seconds,
        stepsPerSecond: (totalSteps * passes) / seconds,
        tokensPerSecond: (totalTokens * passes) / seconds,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
      });
    }
    const header = `prmkit bench: ${prm.name} (${prm.backend.kind}${prm.backend.kind === 'onnx' ? `/${prm.backend.provider}` : ''}), ${chains.length} chains, ${totalSteps} steps, ${totalTokens} tokens, ${repeat - 1} timed passes\n`;
    await write(
      io.stdout,
      header +
        formatTable(
          ['batch', 'calls', 'chains/s', 'steps/s', 'tokens/s', 'p50 ms', 'p99 ms'],
          rows.map((r) => [r.batchSize, r.calls, r.chainsPerSecond, r.stepsPerSecond, r.tokensPerSecond, r.p50Ms, r.p99Ms]),
        ),
    );
    if (jsonPath) {
      mkdirSync(dirname(jsonPath), { recursive: true });
      writeFileSync(jsonPath, JSON.stringify({ model: prm.name, backend: prm.backend, chains: chains.length, steps: totalSteps, tokens: totalTokens, rows }, null, 2) + '\n');
    }
  } finally {
    await prm.close();
  }
  return 0;
}
