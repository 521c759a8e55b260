// Where tests find the repository and the real data (reference models, tokenizers,
// ProcessBench). The data lives outside the repository; PRMKIT_SHARED_DATA points elsewhere.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedData = process.env.PRMKIT_SHARED_DATA ? resolve(process.env.PRMKIT_SHARED_DATA) : join(repoRoot, '..', 'shared', 'data');

export const processBenchDir = join(sharedData, 'processbench');
export const checkpointsDir = join(sharedData, 'checkpoints');
export const mistralDir = join(sharedData, 'tokenizers', 'mistral-7b-v0.1');
/** The Qwen2.5 tokenizer ships in an npm package, so it is always there. */
export const qwenDir = join(repoRoot, 'node_modules', '@lenml', 'tokenizer-qwen2_5', 'models');
export const distDir = join(repoRoot, 'dist');

export const hasProcessBench = existsSync(join(processBenchDir, 'gsm8k.json'));
/** ProcessBench and the tokenizers the real-data suites read. */
export const hasShared = hasProcessBench && existsSync(join(mistralDir, 'tokenizer.json'));
export const hasDist = existsSync(join(distDir, 'index.js'));
/** The demo PRM the package ships (models/demo/prm, a converted folder). */
export const hasDemoPrm = existsSync(join(repoRoot, 'models', 'demo', 'prm', 'prmkit.json'));
/** Whether `command` runs on this machine (cmake for the C++ suites). */
export function hasCommand(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

export const NO_SHARED = `the shared data directory ${sharedData} (ProcessBench, tokenizers) is absent; set PRMKIT_SHARED_DATA to its path`;
export const NO_PROCESSBENCH = `ProcessBench is not at ${processBenchDir}; set PRMKIT_SHARED_DATA to the shared data directory`;
export const NO_DIST = `the compiled ${distDir} is absent (npm install or npm run build:ts builds it)`;
export const NO_CMAKE = 'cmake is not on PATH';
export const NO_DEMO_PRM = `the demo PRM is not in this checkout (${join(repoRoot, 'models', 'demo', 'prm')})`;
