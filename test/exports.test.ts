// The public surface, pinned: every entry point's runtime export names. A change here is a
// change to what users can import, so it should be a deliberate one (update the list).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeWhen, distDir, hasDist, NO_DIST, repoRoot } from './helpers/index.js';

const KERNELS = [
  'ADVANTAGE_EPS',
  'AGGREGATIONS',
  'CUDA_AUTO_MIN_BYTES',
  'aggregate',
  'MAX_MLP_HIDDEN',
  'backends',
  'bceLoss',
  'bceLossSync',
  'bf16ToFloat',
  'deviceMemory',
  'f16ToFloat',
  'firstError',
  'floatToBf16',
  'floatToF16',
  'fromHalf',
  'gatherRows',
  'grpoAdvantages',
  'grpoAdvantagesSync',
  'headParamCount',
  'kernelBackendInfo',
  'lmHeadBackend',
  'nativeStatus',
  'rankGroups',
  'scoreBatch',
  'scoreBatchSync',
  'toHalf',
  'tokenLogProbs',
  'tokenLogProbsSync',
  'trimDeviceMemory',
  'uploadHidden',
];

const SURFACE: Record<string, { source: string; names: string[] }> = {
  '.': {
    source: 'index',
    names: [
      ...KERNELS,
      'FORMATS',
      'FORMAT_NAMES',
      'ORM_FORMATS',
      'ORM_FORMAT_NAMES',
      'Orm',
      'PolicyTokenizer',
      'PrefixCache',
      'Prm',
      'PrmInputError',
      'PrmInputTypeError',
      'PrmSession',
      'PrmTokenizer',
      'SeparatorInStepError',
      'customFormat',
      'denseRewards',
      'encodeChains',
      'fitHead',
      'groupAdvantages',
      'isInputError',
      'joinEncodings',
      'memoryRows',
      'pickRows',
      'readTrainData',
      'resolveFormat',
      'resolveOrmFormat',
      'splitSteps',
      'trainHead',
    ],
  },
  './kernels': { source: 'kernels/index', names: KERNELS },
  './search': {
    source: 'search/index',
    names: [
      'JudgeParseError',
      'LlmJudgeScorer',
      'OpenAIChatGenerator',
      'OpenAICompletionsGenerator',
      'OpenAIHttpError',
      'OpenAIResponseError',
      'OpenAITimeoutError',
      'SELECTION_METHODS',
      'SearchRun',
      'VerifierScorer',
      'aggregateChains',
      'answersEqual',
      'beamSearch',
      'bestOfN',
      'boxedAnswerExtractor',
      'canonicalAnswer',
      'defaultAnswerExtractor',
      'defaultPromptFormatter',
      'dvts',
      'extractAnswer',
      'extractBoxed',
      'extractLastNumber',
      'greedy',
      'judgePrompt',
      'lastNumberExtractor',
      'mcts',
      'parseNumericAnswer',
      'parseVerdicts',
      'selectCandidate',
      'tallyAnswers',
      'treeToDot',
    ],
  },
  './server': {
    source: 'server/index',
    names: [
      'ApiError',
      'DEFAULT_BATCHING',
      'DEFAULT_LIMITS',
      'QueueFullError',
      'ShuttingDownError',
      'createServer',
      'ormServerModel',
      'prmServerModel',
      'resolveServerOptions',
    ],
  },
  './eval': {
    source: 'eval/index',
    names: [
      'AlwaysCorrectScorer',
      'OracleScorer',
      'PRM800K_FINISH_REASONS',
      'computeMetrics',
      'createDetector',
      'createGenerator',
      'createScorer',
      'defaultIsFinal',
      'describeDetector',
      'evaluateProcessBench',
      'evaluateStepProbs',
      'firstBelowThreshold',
      'firstDrop',
      'formatLabellingCost',
      'formatProcessBenchTable',
      'harmonicMean',
      'labelSteps',
      'parseGeneratorSpec',
      'parseJsonLines',
      'parsePrm800kRecord',
      'parseProcessBenchSubset',
      'parseScorerSpec',
      'predictionsFromLines',
      'prm800kAsProcessBench',
      'prm800kChains',
      'processBenchReportJson',
      'readJsonLines',
      'readPredictions',
      'readPrm800k',
      'readProcessBench',
      'scoreChains',
      'streamPrm800k',
      'subsetMetrics',
      'tuneThreshold',
      'writePredictions',
    ],
  },
  './convert': {
    source: 'convert/index',
    names: ['CONVERT_DTYPES', 'CONVERT_FORMATS', 'Checkpoint', 'MANIFEST', 'UnsupportedConfigError', 'convert', 'dequantize', 'parseConfig', 'quantizeBlockwise', 'readManifest'],
  },
  './testing': {
    source: 'testing/index',
    names: ['TINY_CHAT_TEMPLATE', 'TINY_SHEPHERD_TAG', 'TINY_SPECIAL', 'byteAlphabet', 'createTinyCheckpoint', 'createTinyModel', 'tinyTokenizer', 'writeSafetensors'],
  },
  './testing/arithmetic': {
    source: 'testing/arithmetic',
    names: [
      'ArithmeticGenerator',
      'NoisyPrmScorer',
      'OutcomeScorer',
      'createArithmeticProblems',
      'createOracleScorer',
      'demoPolicyOptions',
      'demoTaskOptions',
      'finalAnswerCorrect',
      'formatStep',
      'solveArithmetic',
      'verifySteps',
    ],
  },
};

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));

describe('public surface', () => {
  it('package.json exports exactly these entry points, each to its compiled barrel and types', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual([...Object.keys(SURFACE), './package.json'].sort());
    for (const [entry, { source }] of Object.entries(SURFACE)) {
      expect(pkg.exports[entry], entry).toEqual({ types: `./dist/${source}.d.ts`, default: `./dist/${source}.js` });
      expect(existsSync(join(repoRoot, 'lib', `${source}.ts`)), `lib/${source}.ts`).toBe(true);
    }
    expect(pkg.main).toBe('./dist/index.js');
    expect(pkg.types).toBe('./dist/index.d.ts');
  });

  for (const [entry, { source, names }] of Object.entries(SURFACE)) {
    it(`${entry === '.' ? 'prmkit' : `prmkit/${entry.slice(2)}`} exports exactly the pinned runtime names`, async () => {
      const mod = await import(/* @vite-ignore */ join(repoRoot, 'lib', `${source}.ts`));
      expect(Object.keys(mod).sort()).toEqual([...names].sort());
    });
  }
});

// What each entry point pulls in, seen from a fresh process on the compiled package: CJS
// dependencies (Fastify among them) land in require.cache when loaded, ESM or not.
describeWhen(hasDist, 'entry point weight (runs the compiled dist/)', NO_DIST, () => {
  function loadedAfter(entry: string): string[] {
    const code = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(join(distDir, `${entry}.js`))});
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, PRMKIT_ALLOW_JS: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as string[];
  }
  const fastify = (files: string[]) => files.filter((f) => f.includes(`${'/node_modules/'}fastify/`));

  it("import('prmkit') does not load Fastify (prmkit/server does)", () => {
    expect(fastify(loadedAfter('index'))).toEqual([]);
    expect(fastify(loadedAfter('kernels/index'))).toEqual([]);
    expect(fastify(loadedAfter('server/index')).length).toBeGreaterThan(0);
  });

  it('the published Prm holds one step source and shows no backend internals', () => {
    const prm = readFileSync(join(distDir, 'prm', 'prm.d.ts'), 'utf8');
    expect(prm).toMatch(/class Prm\b[^]*get backend\(\): BackendInfo/);
    expect(prm).toMatch(/private readonly source;/);
    expect(prm).not.toMatch(/@internal|readonly head\b|readonly onnx\b|OnnxSource|OnnxBackbone|OnnxSteps/);
  });
});
