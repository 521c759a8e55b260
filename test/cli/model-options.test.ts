// The model flags map onto Prm.load's grouped options (tokenizer, workers, chunking,
// snapshot) and Prm.connect's, and flags that only a local model reads are refused with --vllm.
import { describe, expect, it } from 'vitest';
import { parse } from '../../lib/cli/args.js';
import { MODEL_OPTIONS, modelSpec } from '../../lib/cli/model-options.js';

const spec = (argv: string[]) => modelSpec(parse(argv, MODEL_OPTIONS).values, 'score');

describe('model flags', () => {
  it('group into tokenizer, workers, chunking and snapshot', () => {
    const s = spec(['-m', 'm.onnx', '-t', 'tok.json', '-f', 'math-shepherd', '--workers', '2', '--threads', '1', '--max-padded-tokens', '4096', '--no-snapshot', '--added-token', '7=<x>']);
    expect(s).toEqual({
      kind: 'onnx',
      options: {
        model: 'm.onnx', format: 'math-shepherd', tokenizer: { path: 'tok.json', addedTokens: [{ id: 7, content: '<x>', special: true }] },
        workers: { count: 2, threads: 1 }, chunking: { maxPaddedTokens: 4096 }, snapshot: false,
      },
    });
    // nothing given, nothing set: the library's defaults apply
    expect(spec(['-m', 'm.onnx', '-t', 'tok.json', '-f', 'skywork'])).toEqual({ kind: 'onnx', options: { model: 'm.onnx', tokenizer: 'tok.json', format: 'skywork' } });
  });

  it('read the same local-model flags for an ORM', () => {
    const s = modelSpec(parse(['-m', 'm.onnx', '-t', 'tok.json', '-f', 'plain-orm', '--name', 'o', '--overflow', 'truncate', '--workers', '2', '--max-padded-tokens', '4096', '--no-snapshot', '--head-name', 'mine'], MODEL_OPTIONS).values, 'score', { orm: true });
    expect(s).toEqual({
      kind: 'orm',
      options: {
        model: 'm.onnx', tokenizer: 'tok.json', format: 'plain-orm', name: 'o', overflow: 'truncate', headName: 'mine',
        workers: { count: 2 }, chunking: { maxPaddedTokens: 4096 }, snapshot: false,
      },
    });
  });

  it('refuse local-model flags with --vllm and the old budget flag', () => {
    for (const flag of [['--no-snapshot'], ['--max-padded-tokens', '9'], ['--threads', '1']])
      expect(() => spec(['--vllm', 'http://127.0.0.1:1', '-t', 't', '-f', 'f', ...flag])).toThrow(/applies to a local ONNX model, not to --vllm/);
    expect(() => spec(['-m', 'm.onnx', '-t', 't', '-f', 'f', '--max-batch-tokens', '9'])).toThrow(/max-batch-tokens/);
  });
});
