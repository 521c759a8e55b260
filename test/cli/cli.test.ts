// The `prmkit` command run in-process (runCli is what bin/main calls) on the tiny real PRM:
// help and exit codes, JSONL scoring with resume, serve, bench and the eval dispatch.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, runCli } from '../../lib/cli/run.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { io, jsonServer, when } from './helpers.js';

let dir: string;
let tiny: TinyModel;
let model: string[];
let prm: Prm;

const chains = Array.from({ length: 10 }, (_, i) => ({
  ...(i % 4 === 3 ? {} : { id: `c${i}` }),
  problem: `Compute ${i} * 3.`,
  steps: [`${i} * 3 = ${i * 3}`, `so the answer is ${i * 3 + (i % 2)}`],
  label: -1, // extra fields, as in ProcessBench rows, are ignored
}));
const ids = chains.map((c, i) => c.id ?? `line-${i + 1}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prmkit-cli-'));
  tiny = await createTinyModel({ dir, seed: 3 });
  model = ['-m', tiny.model, '-t', tiny.tokenizer, '--head', tiny.head!, '-f', 'math-shepherd'];
  prm = await Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd' });
  writeFileSync(join(dir, 'in.jsonl'), chains.map((c) => JSON.stringify(c)).join('\n') + '\n');
});

afterAll(async () => {
  await prm?.close();
  rmSync(dir, { recursive: true, force: true });
});

function lines(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}
const fileLines = (path: string) => lines(readFileSync(path, 'utf8'));

describe('prmkit: help, usage and errors', () => {
  it('lists every command in its help, and each command has its own', async () => {
    const h = io();
    expect(await runCli(['--help'], h)).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(h.stdout.text).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    for (const cmd of ['score', 'serve', 'bench']) {
      const c = io();
      expect(await runCli([cmd, '--help'], c)).toBe(0);
      expect(c.stdout.text).toContain(`prmkit ${cmd}`);
      // the same model flags everywhere
      for (const flag of ['--model', '--tokenizer', '--format', '--head', '--vllm URL', '--overflow', '--max-context']) expect(c.stdout.text).toContain(flag);
    }
    const e = io();
    expect(await runCli(['help', 'eval'], e)).toBe(0);
    for (const flag of ['--vllm URL', '--overflow', '--max-context', '--scores FILE']) expect(e.stdout.text).toContain(flag);
  });

  it('usage errors exit 2 with the value and its type, and a pointer to the command help', async () => {
    const cases: [string[], string][] = [
      [[], 'usage: prmkit <command>'],
      [['frobnicate'], 'prmkit: unknown command "frobnicate"'],
      [['score', '--bogus'], "run 'prmkit score --help' for usage"],
      [['score', '-t', 'x', '-f', 'math-shepherd'], 'prmkit score: score needs --model'],
      [['score', '-m', 'm', '-t', 't', '-f', 'f', '--batch-size', 'many'], '--batch-size must be a positive integer, got "many" (string)'],
      [['score', '-m', 'm', '-t', 't', '-f', 'f', '--batch-size', '0'], '--batch-size must be a positive integer, got 0 (number)'],
      [['score', '-m', 'm', '-t', 't', '-f', 'f', '--error-threshold', '1'], '--error-threshold must be a number in (0, 1)'],
      [['score', '-m', 'm', '-t', 't', '-f', 'f', '--aggregate', 'mni'], "did you mean 'min'?"],
      [['score', '-m', 'm', '-t', 't', '-f', 'f', '--overflow', 'clip'], "--overflow must be one of 'error', 'truncate'"],
      [['score', '-m', 'm', '-t', 't', '-f', 'f', '--progress', '--no-progress'], 'contradict'],
      [['serve', '-m', 'm', '-t', 't', '-f', 'f', '--port', '70000'], '--port must be an integer in [0, 65535], got 70000 (number)'],
      [['serve', '--vllm', 'not a url', '-t', 't', '-f', 'f'], '--vllm must be an http(s) URL'],
      [['serve', '-m', 'm', '-t', 't', '-f', 'f', '--prefix-cache-mb', '1.5'], '--prefix-cache-mb must be a non-negative integer, got 1.5 (number)'],
      [['serve', '--vllm', 'http://127.0.0.1:1', '--workers', '2', '-t', 't', '-f', 'f'], '--workers applies to a local ONNX model, not to --vllm'],
      [['bench', '-m', 'm', '-t', 't', '-f', 'f', '--batch-sizes', '4,zero'], '--batch-sizes must be positive integers'],
    ];
    for (const [argv, message] of cases) {
      const c = io();
      expect(await runCli(argv, c), argv.join(' ')).toBe(2);
      expect(c.stderr.text, argv.join(' ')).toContain(message);
      expect(c.stderr.text).not.toMatch(/\n\s+at /);
    }
    const v = io();
    expect(await runCli(['--version'], v)).toBe(0);
    expect(v.stdout.text).toMatch(/^prmkit \d+\.\d+\.\d+/);
  });

  it('reports failures in one line with exit 1, and the stack only with --verbose', async () => {
    const quiet = io();
    const args = ['score', '-m', join(dir, 'nope.onnx'), '-t', tiny.tokenizer, '--head', tiny.head!, '-f', 'math-shepherd', '-i', join(dir, 'in.jsonl')];
    expect(await runCli(args, quiet)).toBe(1);
    expect(quiet.stderr.text.trim().split('\n')).toHaveLength(1);
    expect(quiet.stderr.text).toMatch(/^prmkit score: .*nope\.onnx/);
    const loud = io();
    expect(await runCli([...args, '--verbose'], loud)).toBe(1);
    expect(loud.stderr.text).toMatch(/\n\s+at /);
    const noInput = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'absent.jsonl')], noInput)).toBe(1);
    expect(noInput.stderr.text).toBe(`prmkit score: cannot read input ${join(dir, 'absent.jsonl')}: no such file or directory (ENOENT)\n`);
  });
});

describe('prmkit score', () => {
  it('scores JSONL to JSONL with the numbers Prm.score gives', async () => {
    const out = join(dir, 'out-full.jsonl');
    const c = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out, '--batch-size', '3', '--aggregate', 'min', '--progress'], c)).toBe(0);
    const got = fileLines(out);
    expect(got.map((r) => r['id'])).toEqual(ids);
    const direct = await prm.score(chains, { aggregate: 'min' });
    got.forEach((r, i) => {
      expect(r['aggregate']).toBe('min');
      expect(r['stepProbs']).toHaveLength(2);
      r['stepProbs'].forEach((p: number, k: number) => expect(p).toBeCloseTo(direct[i]!.stepProbs[k]!, 6));
      expect(r['score']).toBeCloseTo(direct[i]!.score, 6);
      expect(r['firstError']).toBe(direct[i]!.firstError);
      expect(r['tokens']).toBe(direct[i]!.tokens);
    });
    expect(c.stderr.text).toMatch(/10\/10 scored/); // the progress bar's last state
    expect(c.stderr.text).toContain('scored 10 chains');
  });

  it('shows progress only when asked or on a terminal, each report on its own line', async () => {
    const plain = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl')], plain)).toBe(0);
    expect(plain.stderr.text).toBe('prmkit score: scored 10 chains\n');
    const tty = io();
    tty.stderr.isTTY = true;
    const stdin = new PassThrough();
    stdin.end(`${JSON.stringify(chains[0])}\nnot json\n${JSON.stringify(chains[1])}\n`);
    expect(await runCli(['score', ...model, '--skip-invalid', '--batch-size', '1'], { ...tty, stdin })).toBe(0);
    // the bar is cleared before a message and redrawn after; no message shares its line
    const rows = tty.stderr.text.split('\n');
    const message = rows.find((r) => r.includes('skipping input line 2'))!;
    expect(message).toBeDefined();
    expect(message.split('\r').at(-1)!.replace('\x1b[K', '')).toMatch(/^prmkit score: skipping input line 2: not valid JSON/);
    expect(rows.at(-2)).toBe('prmkit score: scored 2 chains, skipped 1 invalid lines');

    // a failure is printed on a line of its own too, after the bar's last state
    const failing = io();
    failing.stderr.isTTY = true;
    const stdin2 = new PassThrough();
    stdin2.end(`${JSON.stringify(chains[0])}\nnot json\n`);
    expect(await runCli(['score', ...model, '--batch-size', '1'], { ...failing, stdin: stdin2 })).toBe(1);
    const last = failing.stderr.text.split('\n').filter(Boolean);
    expect(last.at(-2)).toMatch(/^\r1 scored [\s\S]*\x1b\[K$/); // stdin: no total, so no bar
    expect(last.at(-1)).toMatch(/^prmkit score: input line 2: not valid JSON/);
  });

  it('resumes: skips ids already in the output and repairs a cut last line', async () => {
    const full = fileLines(join(dir, 'out-full.jsonl'));
    const out = join(dir, 'out-resume.jsonl');
    const firstFour = readFileSync(join(dir, 'out-full.jsonl'), 'utf8').split('\n').slice(0, 4).join('\n') + '\n';
    writeFileSync(out, firstFour + '{"id":"c4","score":0.1,"stepPr'); // a crash mid-line
    const c = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out, '--aggregate', 'min'], c)).toBe(0);
    const got = fileLines(out);
    expect(got.map((r) => r['id'])).toEqual(ids);
    got.forEach((r, i) => expect(r['score']).toBeCloseTo(full[i]!['score'], 6));
    expect(c.stderr.text).toContain('scored 6 chains, skipped 4 already in');
    // nothing left: a third run adds nothing
    const again = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out], again)).toBe(0);
    expect(fileLines(out)).toHaveLength(10);
    expect(again.stderr.text).toContain('scored 0 chains, skipped 10');
  });

  it('stops on a stop signal with exit 130 after writing what it read, and a rerun completes', async () => {
    const stdin = new PassThrough();
    const stop = new AbortController();
    const c = io({ stdin, signal: stop.signal });
    const running = runCli(['score', ...model, '--batch-size', '2'], c);
    // two chains fill a batch; the stop comes once that batch is written, while the command
    // waits for more input
    for (const ch of chains.slice(0, 2)) stdin.write(JSON.stringify(ch) + '\n');
    await when(c.stdout, 'wrote', () => lines(c.stdout.text).length === 2);
    stop.abort();
    expect(await running).toBe(130);
    expect(c.stderr.text).toContain('scored 2 chains; interrupted, rerun the same command to resume');
    expect(lines(c.stdout.text).map((r) => r['id'])).toEqual(ids.slice(0, 2));
    const out = join(dir, 'out-stop.jsonl');
    writeFileSync(out, c.stdout.text);
    const rest = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out], rest)).toBe(0);
    expect(rest.stderr.text).toContain('scored 8 chains, skipped 2 already in');
    expect(fileLines(out).map((r) => r['id'])).toEqual(ids);
  });

  it('reads stdin, writes stdout, and stops at a bad line (after writing the lines before it) unless told to skip it', async () => {
    const text = `${JSON.stringify(chains[0])}\nnot json\n${JSON.stringify({ problem: 'p', steps: 'x' })}\n${JSON.stringify(chains[1])}\n`;
    const stdin = new PassThrough();
    stdin.end(text);
    const strict = io({ stdin });
    expect(await runCli(['score', ...model], strict)).toBe(1);
    expect(strict.stderr.text).toMatch(/^prmkit score: input line 2: not valid JSON/);
    expect(lines(strict.stdout.text).map((r) => r.id)).toEqual(['c0']);

    const stdin2 = new PassThrough();
    stdin2.end(text);
    const lenient = io({ stdin: stdin2 });
    expect(await runCli(['score', ...model, '--skip-invalid', '--no-progress'], lenient)).toBe(0);
    expect(lines(lenient.stdout.text).map((r) => r.id)).toEqual(['c0', 'c1']);
    expect(lenient.stderr.text).toContain('prmkit score: skipping input line 3: steps must be an array of strings, got "x" (string)');
    expect(lenient.stderr.text).toContain('skipped 2 invalid lines');
  });
});

describe('prmkit serve, bench, eval', () => {
  it('serves until stopped, then shuts down cleanly', async () => {
    const stop = new AbortController();
    const c = io({ signal: stop.signal });
    const running = runCli(['serve', ...model, '--port', '0', '--name', 'cli-tiny', '--api-key', 'k1', '--prefix-cache-mb', '8'], c);
    await when(c.stderr, 'wrote', () => / on http:\/\//.test(c.stderr.text));
    const url = /on (http:\/\/\S+)/.exec(c.stderr.text)![1]!;
    expect(c.stderr.text).toContain('API key required');
    // a model without a KV cache cannot keep one: said at start, not dropped silently
    await when(c.stderr, 'wrote', () => /no prefix cache/.test(c.stderr.text));
    expect(c.stderr.text).toMatch(/no prefix cache: the onnx backbone keeps no keys\/values/);
    const res = await fetch(`${url}/v1/prm/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer k1' },
      body: JSON.stringify({ items: [chains[0]].map(({ problem, steps }) => ({ problem, steps })) }),
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.model).toBe('cli-tiny');
    expect(body.results[0].stepProbs).toHaveLength(2);
    stop.abort();
    expect(await running).toBe(0);
    expect(c.stderr.text).toContain('stopped');
    // the port is closed: the connection is refused, not answered or left hanging
    const failure = await fetch(`${url}/health`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });

  it('serves with a vLLM server as the backbone (--vllm URL)', async () => {
    // a stand-in vLLM: every token's class probabilities are [0.8, 0.2] ('+' is class 0)
    let requests = 0;
    const vllm = await jsonServer((q: { input: number[][] }) => {
      requests++;
      const data = q.input.map((ids, index) => ({ index, object: 'pooling', data: ids.map(() => [0.8, 0.2]) }));
      const tokens = q.input.reduce((a, ids) => a + ids.length, 0);
      return { id: 'p', object: 'list', created: 0, model: 'tiny', data, usage: { prompt_tokens: tokens, total_tokens: tokens } };
    });
    const stop = new AbortController();
    const c = io({ signal: stop.signal });
    try {
      const upstream = vllm.url;
      const running = runCli(['serve', '--vllm', upstream, '-t', tiny.tokenizer, '-f', 'math-shepherd', '--port', '0'], c);
      await when(c.stderr, 'wrote', () => / on http:\/\//.test(c.stderr.text));
      expect(c.stderr.text).toContain('(vllm');
      const url = /on (http:\/\/\S+)/.exec(c.stderr.text)![1]!;
      const res = await fetch(`${url}/v1/prm/score`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ problem: chains[0]!.problem, steps: chains[0]!.steps }] }),
      });
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.results[0].stepProbs).toHaveLength(2);
      for (const p of body.results[0].stepProbs) expect(p).toBeCloseTo(0.8, 6);
      expect(requests).toBeGreaterThan(0);
      stop.abort();
      expect(await running).toBe(0);
    } finally {
      stop.abort();
      await vllm.close();
    }
  });

  it('benchmarks and writes JSON', async () => {
    const json = join(dir, 'bench', 'out.json');
    const c = io();
    expect(await runCli(['bench', ...model, '--chains', '8', '--steps', '2', '--batch-sizes', '1,4', '--repeat', '2', '--json', json], c)).toBe(0);
    expect(c.stdout.text).toMatch(/batch\s+calls\s+chains\/s/);
    const r = JSON.parse(readFileSync(json, 'utf8'));
    expect(r.rows.map((x: { batchSize: number }) => x.batchSize)).toEqual([1, 4]);
    expect(r.rows[0].calls).toBe(8);
    expect(r.rows[1].calls).toBe(2);
    expect(r.rows.every((x: { chainsPerSecond: number }) => x.chainsPerSecond > 0)).toBe(true);
  });

  it('dispatches eval like any command, with the same error shape', async () => {
    const c = io();
    expect(await runCli(['eval', '--help'], c)).toBe(0);
    expect(c.stdout.text).toContain('prmkit eval processbench --data DIR -m MODEL -t TOKENIZER -f FORMAT');
    const bad = io();
    expect(await runCli(['eval', 'nonsense'], bad)).toBe(2);
    expect(bad.stderr.text).toBe(`prmkit eval: unknown eval command "nonsense" (expected processbench, prm800k, label)\nrun 'prmkit eval --help' for usage\n`);
  });
});
