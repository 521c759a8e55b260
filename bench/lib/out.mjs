// Where benchmark results go, and the stamp each result carries: the commit and machine it
// was measured on, so a figure in the README can be traced to its run.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// loaded lazily so that a bench can still say for itself that dist/ is missing
const { kernelBackendInfo } = await import('../../dist/kernels/index.js').catch(() => ({
  kernelBackendInfo: () => ({ label: 'unknown (dist/ is not built)' }),
}));

/**
 * The results folder: bench/results for full runs; a --quick (smoke) run never writes over
 * the committed results and goes to $PRMKIT_BENCH_OUT or a temporary folder instead.
 */
export function resultsDir(quick) {
  const dir = process.env.PRMKIT_BENCH_OUT || (quick ? join(os.tmpdir(), 'prmkit-bench-quick') : join(root, 'bench', 'results'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Commit (with "+changes" when the tree differs from it) and machine of this run. */
export function stamp() {
  const commit = git(['rev-parse', '--short=10', 'HEAD']) ?? 'unknown';
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    commit,
    dirty: status === undefined ? null : status.length > 0,
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.arch()}`,
    node: process.version,
    kernels: kernelBackendInfo().label,
  };
}

/** The first line every benchmark prints: what it measures on, the kernel backend included. */
export function benchHeader(name) {
  const s = stamp();
  console.log(`prmkit bench ${name}: kernels ${s.kernels}; ${s.cpu}, ${s.cores} cores, node ${s.node}`);
}

/** One line saying where a figure comes from. */
export function stampLine(s) {
  return `measured at commit ${s.commit}${s.dirty ? ' (with uncommitted changes)' : ''} on ${s.cpu}, ${s.cores} cores, ${s.memoryGb} GB, ${s.platform}, node ${s.node}, kernels ${s.kernels ?? 'unknown'}, ${s.date.slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * Writes `name`.json with the run's stamp and `report` (the lines the README shows); returns
 * the path.
 */
export function writeResult(name, data, { quick, report }) {
  const file = join(resultsDir(quick), `${name}.json`);
  writeFileSync(file, JSON.stringify({ stamp: stamp(), quick, ...data, report }, null, 2) + '\n');
  return file;
}
