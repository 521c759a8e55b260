// The `prmkit` command run in-process (runCli is what bin/main calls) on the tiny real PRM:
// help and exit codes, JSONL scoring with resume, serve, bench and the eval dispatch.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import type { CliIo } from '../../lib/cli/io.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

function io(extra: Partial<CliIo> = {}): CliIo & { stdout: Capture; stderr: Capture } {
  const stdin = new PassThrough();
  stdin.end();
  return { stdin, stdout: new Capture(), stderr: new Capture(), env: {}, ...extra } as CliIo & { stdout: Capture; stderr: Capture };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

function lines(path: string): Array<Record<string, any>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

describe('prmkit: help, usage and errors', () => {
  it('prints help with exit 0, and usage errors with exit 2', async () => {
    const h = io();
    expect(await runCli(['--help'], h)).toBe(0);
    expect(h.stdout.text).toMatch(/commands:[\s\S]*score[\s\S]*serve[\s\S]*bench[\s\S]*eval/);
    for (const cmd of ['score', 'serve', 'bench']) {
      const c = io();
      expect(await runCli([cmd, '--help'], c)).toBe(0);
      expect(c.stdout.text).toContain(`prmkit ${cmd}`);
      expect(c.stdout.text).toContain('--model');
    }
    const none = io();
    expect(await runCli([], none)).toBe(2);
    expect(none.stderr.text).toContain('usage');
    const unknown = io();
    expect(await runCli(['frobnicate'], unknown)).toBe(2);
    expect(unknown.stderr.text).toContain('unknown command "frobnicate"');
    const flag = io();
    expect(await runCli(['score', '--bogus'], flag)).toBe(2);
    expect(flag.stderr.text).toContain("run 'prmkit score --help'");
    const missing = io();
    expect(await runCli(['score', '-t', 'x', '-f', 'math-shepherd'], missing)).toBe(2);
    expect(missing.stderr.text).toContain('needs --model');
    const num = io();
    expect(await runCli(['score', ...model, '--batch-size', 'many'], num)).toBe(2);
    expect(num.stderr.text).toContain('--batch-size must be an integer');
    const thr = io();
    expect(await runCli(['score', ...model, '--error-threshold', '1'], thr)).toBe(2);
    const port = io();
    expect(await runCli(['serve', ...model, '--port', '70000'], port)).toBe(2);
    const v = io();
    expect(await runCli(['--version'], v)).toBe(0);
    expect(v.stdout.text).toMatch(/^prmkit \d+\.\d+\.\d+/);
  });

  it('reports failures in one line with exit 1, and the stack only with --verbose', async () => {
    const quiet = io();
    const args = ['score', '-m', join(dir, 'nope.onnx'), '-t', tiny.tokenizer, '--head', tiny.head!, '-f', 'math-shepherd', '-i', join(dir, 'in.jsonl')];
    expect(await runCli(args, quiet)).toBe(1);
    expect(quiet.stderr.text.trim().split('\n')).toHaveLength(1);
    expect(quiet.stderr.text).toMatch(/^prmkit: /);
    expect(quiet.stderr.text).not.toMatch(/\n\s+at /);
    const loud = io();
    expect(await runCli([...args, '--verbose'], loud)).toBe(1);
    expect(loud.stderr.text).toMatch(/\n\s+at /);
    const noInput = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'absent.jsonl')], noInput)).toBe(1);
    expect(noInput.stderr.text).toContain('does not exist');
  });
});

describe('prmkit score', () => {
  it('scores JSONL to JSONL with the numbers Prm.score gives', async () => {
    const out = join(dir, 'out-full.jsonl');
    const c = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out, '--batch-size', '3', '--aggregate', 'min', '--progress'], c)).toBe(0);
    const got = lines(out);
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

  it('resumes: skips ids already in the output and repairs a cut last line', async () => {
    const full = lines(join(dir, 'out-full.jsonl'));
    const out = join(dir, 'out-resume.jsonl');
    const firstFour = readFileSync(join(dir, 'out-full.jsonl'), 'utf8').split('\n').slice(0, 4).join('\n') + '\n';
    writeFileSync(out, firstFour + '{"id":"c4","score":0.1,"stepPr'); // a crash mid-line
    const c = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out, '--aggregate', 'min'], c)).toBe(0);
    const got = lines(out);
    expect(got.map((r) => r['id'])).toEqual(ids);
    got.forEach((r, i) => expect(r['score']).toBeCloseTo(full[i]!['score'], 6));
    expect(c.stderr.text).toContain('scored 6 chains, skipped 4 already in');
    // nothing left: a third run adds nothing
    const again = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out], again)).toBe(0);
    expect(lines(out)).toHaveLength(10);
    expect(again.stderr.text).toContain('scored 0 chains, skipped 10');
  });

  it('stops on a stop signal with exit 130 after writing what it read, and a rerun completes', async () => {
    const out = join(dir, 'out-stop.jsonl');
    const stdin = new PassThrough();
    const stop = new AbortController();
    const c = io({ stdin, signal: stop.signal });
    const running = runCli(['score', ...model, '-o', out, '--batch-size', '2'], c);
    for (const ch of chains.slice(0, 3)) stdin.write(JSON.stringify(ch) + '\n');
    for (let i = 0; i < 100 && !(existsSync(out) && readFileSync(out, 'utf8').split('\n').length > 2); i++) await sleep(20);
    stop.abort();
    expect(await running).toBe(130);
    expect(c.stderr.text).toContain('interrupted');
    expect(lines(out).map((r) => r['id'])).toEqual(ids.slice(0, 3));
    const rest = io();
    expect(await runCli(['score', ...model, '-i', join(dir, 'in.jsonl'), '-o', out], rest)).toBe(0);
    expect(lines(out).map((r) => r['id'])).toEqual(ids);
  });

  it('reads stdin, writes stdout, and stops at a bad line unless told to skip it', async () => {
    const stdin = new PassThrough();
    stdin.end(`${JSON.stringify(chains[0])}\nnot json\n${JSON.stringify({ problem: 'p', steps: 'x' })}\n${JSON.stringify(chains[1])}\n`);
    const strict = io({ stdin });
    expect(await runCli(['score', ...model], strict)).toBe(1);
    expect(strict.stderr.text).toContain('input line 2: not valid JSON');

    const stdin2 = new PassThrough();
    stdin2.end(`${JSON.stringify(chains[0])}\nnot json\n${JSON.stringify({ problem: 'p', steps: 'x' })}\n${JSON.stringify(chains[1])}\n`);
    const lenient = io({ stdin: stdin2 });
    expect(await runCli(['score', ...model, '--skip-invalid', '--no-progress'], lenient)).toBe(0);
    const got = lenient.stdout.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(got.map((r) => r.id)).toEqual(['c0', 'c1']);
    expect(lenient.stderr.text).toContain('input line 3: "steps" must be an array of strings');
    expect(lenient.stderr.text).toContain('skipped 2 invalid lines');
  });
});

describe('prmkit serve, bench, eval', () => {
  it('serves until stopped, then shuts down cleanly', async () => {
    const stop = new AbortController();
    const c = io({ signal: stop.signal });
    const running = runCli(['serve', ...model, '--port', '0', '--name', 'cli-tiny', '--api-key', 'k1'], c);
    let url: string | undefined;
    for (let i = 0; i < 200 && !url; i++) {
      url = /on (http:\/\/[^\s]+)/.exec(c.stderr.text)?.[1];
      if (!url) await sleep(20);
    }
    expect(url).toBeDefined();
    expect(c.stderr.text).toContain('API key required');
    const res = await fetch(`${url}/v1/score`, {
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
    await expect(fetch(`${url}/health`)).rejects.toThrow();
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
    const bad = io();
    expect(await runCli(['bench', ...model, '--batch-sizes', '4,zero'], bad)).toBe(2);
  });

  it('dispatches eval to the evaluation command', async () => {
    const c = io();
    expect(await runCli(['eval', '--help'], c)).toBe(0);
    expect(c.stdout.text).toContain('processbench');
    const bad = io();
    expect(await runCli(['eval', 'nonsense'], bad)).toBe(2);
  });
});
