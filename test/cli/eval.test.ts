// `prmkit eval processbench` argument handling, on a tiny ProcessBench directory written by the test.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScorerSpec } from '../../lib/eval/scorer-spec.js';
import { runCli } from '../../lib/cli/run.js';
import { io, prmkit } from './helpers.js';

const runEval = (argv: string[]) => prmkit(['eval', ...argv]);

const dir = mkdtempSync(join(tmpdir(), 'prmkit-evalcli-'));
const data = join(dir, 'pb');
mkdirSync(data);
const rec = (id: string, steps: number, label: number) => ({
  id,
  generator: 'test',
  problem: `p ${id}`,
  steps: Array.from({ length: steps }, (_, i) => `s${i}`),
  final_answer_correct: label === -1,
  label,
});
writeFileSync(join(data, 'alpha.json'), JSON.stringify([rec('a-0', 3, 1), rec('a-1', 2, -1), rec('a-2', 4, 0)]));
writeFileSync(join(data, 'beta.json'), JSON.stringify([rec('b-0', 2, -1), rec('b-1', 5, 4)]));

describe('prmkit eval', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints help (exit 0) and usage without a command (exit 2)', async () => {
    const h = await runEval(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('prmkit eval processbench --data DIR -m MODEL -t TOKENIZER -f FORMAT');
    expect((await runEval(['processbench', '--help'])).stdout).toMatch(/--tune-on SUBSET/);
    const none = await runEval([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/usage:/);
  });

  it('usage errors exit 2 with a message and no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['nope'], /unknown eval command "nope"/],
      [['processbench', '--scorer', 'oracle'], /--data DIR is required/],
      [['processbench', '--data', data], /give exactly one of a model \(-m\/-t\/-f, or --vllm URL -t -f\), --scorer NAME or --predictions FILE/],
      [['processbench', '--data', data, '--scorer', 'oracle', '-m', 'model.onnx', '-t', 'tok', '-f', 'math-shepherd'], /exactly one/],
      [['processbench', '--data', data, '--scorer', 'oracle', '--predictions', 'x.jsonl'], /exactly one/],
      [['processbench', '--data', data, '--scorer', 'orcle'], /--scorer must be one of 'oracle', 'always-correct' \(did you mean 'oracle'\?\), got "orcle" \(string\)/],
      [['processbench', '--data', data, '-m', 'model.onnx'], /eval processbench needs --tokenizer/],
      [['processbench', '--data', data, '--scorer', 'prm:m.onnx,tok,math-shepherd'], /name the model with -m MODEL -t TOKENIZER -f FORMAT/],
      [['processbench', '--data', data, '--vllm', 'not a url', '-t', 'tok', '-f', 'math-shepherd'], /--vllm must be an http\(s\) URL, got "not a url" \(string\)/],
      [['processbench', '--data', data, '-m', 'm.onnx', '-t', 'tok', '-f', 'math-shepherd', '--overflow', 'cut'], /--overflow must be one of 'error', 'truncate'/],
      [['processbench', '--data', data, '--scorer', 'oracle', '--threshold', '1.5'], /--threshold must be a number in \[0, 1\]/],
      [['processbench', '--data', data, '--scorer', 'oracle', '--threshold', '0.4', '--tune-on', 'alpha'], /alternatives/],
      [['processbench', '--data', data, '--scorer', 'oracle', '--batch-size', '0'], /--batch-size must be a positive integer, got 0 \(number\)/],
      [['processbench', '--data', data, '--scorer', 'oracle', '--concurrency', 'many'], /--concurrency must be a positive integer, got "many" \(string\)/],
      [['processbench', '--data', data, '--scorer', 'oracle', '--tune-on', 'gamma'], /--tune-on gamma: no such subset/],
      [['processbench', '--data', data, '--predictions', 'p.jsonl', '--threshold', '0.3'], /need a scorer, not --predictions/],
      [['processbench', '--data', data, '--scorer', 'oracle', '--bogus'], /Unknown option '--bogus'/],
      [['prm800k'], /--input FILE.jsonl is required/],
      [['prm800k', '--input', 'x', '--finish-reasons', 'solution,gave_up'], /--finish-reasons must be one of .* \(did you mean 'give_up'\?\)/],
    ];
    for (const [argv, message] of cases) {
      const r = await runEval(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr, argv.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('data problems exit 1 with the cause', async () => {
    const missing = await runEval(['processbench', '--data', join(dir, 'nowhere'), '--scorer', 'oracle']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read ProcessBench directory/);
    const subset = await runEval(['processbench', '--data', data, '--subsets', 'alpha,gamma', '--scorer', 'oracle']);
    expect(subset.code).toBe(1);
    expect(subset.stderr).toMatch(/subset\(s\) not found in .*: gamma \(available: alpha, beta\)/);
    // output paths are checked before any work, each failure in one line
    const isDir = await runEval(['processbench', '--data', data, '--scorer', 'oracle', '--json', dir]);
    expect(isDir.code).toBe(1);
    expect(isDir.stderr).toBe(`prmkit eval: cannot write report ${dir}: is a directory (EISDIR)\n`);
    const noDir = join(dir, 'no', 'such', 'p.jsonl');
    const nowhere = await runEval(['processbench', '--data', data, '--scorer', 'oracle', '--write-predictions', noDir]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe(`prmkit eval: cannot create predictions file ${noDir}: no such file or directory (ENOENT)\n`);
    const preds = await runEval(['processbench', '--data', data, '--predictions', join(dir, 'none.jsonl')]);
    expect(preds.code).toBe(1);
    expect(preds.stderr).toMatch(/none.jsonl/);
  });

  it('evaluates with a scorer, a fixed threshold, the first-drop rule and a predictions file', async () => {
    const oracle = await runEval(['processbench', '--data', data, '--scorer', 'oracle', '--first-drop', '--json', '-']);
    expect(oracle.code).toBe(0);
    const j = JSON.parse(oracle.stdout);
    expect(j.detector).toEqual({ kind: 'first-drop', ratio: 0.5 });
    expect(j.averageF1).toBe(100);

    const thr = await runEval(['processbench', '--data', data, '--scorer', 'always-correct', '--threshold', '0.9']);
    expect(thr.code).toBe(0);
    expect(thr.stdout).toMatch(/earliest error: p < 0.9/);
    expect(thr.stdout).toMatch(/alpha\s+3\s+0\.0 \(0\/2\)\s+100\.0 \(1\/1\)\s+0\.0/);

    const file = join(dir, 'preds.jsonl');
    // alpha: a-0 right, a-2 wrong; a-1 right. beta: both right
    writeFileSync(file, ['a-0 1', 'a-1 -1', 'a-2 2', 'b-0 -1', 'b-1 4'].map((l) => {
      const [id, p] = l.split(' ');
      return JSON.stringify({ id, prediction: Number(p) });
    }).join('\n'));
    const out = join(dir, 'report.json');
    const m = await runEval(['processbench', '--data', data, '--predictions', file, '--json', out]);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/alpha\s+3\s+50\.0 \(1\/2\)\s+100\.0 \(1\/1\)\s+66\.7/);
    expect(m.stdout).toMatch(/beta\s+2\s+100\.0 \(1\/1\)\s+100\.0 \(1\/1\)\s+100\.0/);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.averageF1).toBeCloseTo((200 / 3 + 100) / 2, 3);
    expect(report.source).toBe(`predictions ${file}`);
  });

  it('a stop signal before the work is an interruption (exit 130), not a failure', async () => {
    const c = io({ signal: AbortSignal.abort() });
    expect(await runCli(['eval', 'processbench', '--data', data, '--scorer', 'oracle'], c)).toBe(130);
    expect(c.stderr.text).toBe('prmkit eval processbench: interrupted; pass --scores FILE to keep finished scores across runs\n');
  });

  it('first-drop takes an optional ratio', async () => {
    const r = await runEval(['processbench', '--data', data, '--scorer', 'oracle', '--first-drop', '0.3', '--json', '-']);
    expect(JSON.parse(r.stdout).detector).toEqual({ kind: 'first-drop', ratio: 0.3 });
    const bad = await runEval(['processbench', '--data', data, '--scorer', 'oracle', '--first-drop=0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--first-drop must be a number in \(0, 1\]/);
  });

  it('parses scorer specs', () => {
    expect(parseScorerSpec('oracle')).toEqual({ kind: 'oracle' });
    expect(parseScorerSpec('prm:/m/model.onnx,/m/tokenizer.json,qwen-math-prm')).toEqual({
      kind: 'prm',
      model: '/m/model.onnx',
      tokenizer: '/m/tokenizer.json',
      format: 'qwen-math-prm',
    });
    expect(parseScorerSpec('prm:m.onnx,tok,skywork,head.safetensors')).toMatchObject({ kind: 'prm', head: 'head.safetensors' });
    expect(parseScorerSpec('vllm:http://127.0.0.1:8000,/t/tokenizer.json,qwen2.5-math-prm')).toEqual({
      kind: 'vllm',
      url: 'http://127.0.0.1:8000',
      tokenizer: '/t/tokenizer.json',
      format: 'qwen2.5-math-prm',
    });
    expect(parseScorerSpec('vllm:http://gpu:8000/,tok,math-shepherd,Qwen/Qwen2.5-Math-PRM-7B')).toMatchObject({ url: 'http://gpu:8000/', model: 'Qwen/Qwen2.5-Math-PRM-7B' });
    expect(() => parseScorerSpec('vllm:ftp://x,tok,fmt')).toThrow(/http/);
    expect(() => parseScorerSpec('vllm:http://x')).toThrow(/expected vllm:<url>,<tokenizer>,<format>/);
  });
});
