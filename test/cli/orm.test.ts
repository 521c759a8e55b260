// The `prmkit` command on an outcome reward model: convert writes an ORM folder, score writes
// one reward per solution (resumable, solutions as steps or text), serve answers /v1/rerank
// with it, and the PRM-only commands and flags refuse it with exit 2.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import { Orm } from '../../lib/orm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import { cleanup, tempDir } from '../orm/helpers.js';
import { io, prmkit, when } from './helpers.js';

let dir: string;
let folder: string;
let orm: Orm;

const rows = [
  { id: 'a', problem: 'What is 3 + 4?', steps: ['3 + 4 = 7', 'The answer is 7.'] },
  { problem: 'What is 3 + 4?', solution: '3 + 4 = 8\nThe answer is 8.' },
  { id: 'c', problem: 'Halve 10.', steps: ['10 / 2 = 5'] },
];
const ids = ['a', 'line-2', 'c'];
const items = rows.map(({ id: _id, ...r }) => r) as Parameters<Orm['score']>[0];

const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

beforeAll(async () => {
  dir = tempDir();
  createTinyCheckpoint({ dir: join(dir, 'hf'), format: 'plain-orm', layers: 1, hidden: 16, seed: 4 });
  folder = join(dir, 'orm');
  const c = await prmkit(['convert', join(dir, 'hf'), folder, '--format', 'plain-orm']);
  expect(c.code).toBe(0);
  expect(c.stdout).toMatch(/converted Qwen2ForSequenceClassification \(an outcome reward model, plain-orm, token-classification head, float32\)/);
  orm = await Orm.load({ model: folder });
  writeFileSync(join(dir, 'in.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
});

afterAll(async () => {
  await orm?.close();
  cleanup();
});

describe('prmkit score with an ORM', () => {
  it('writes one reward (and probability) per solution, given as steps or as text, and resumes', async () => {
    const out = join(dir, 'out.jsonl');
    const r = await prmkit(['score', '-m', folder, '-i', join(dir, 'in.jsonl'), '-o', out, '--batch-size', '2']);
    expect(r.code).toBe(0);
    const got = lines(readFileSync(out, 'utf8'));
    const want = await orm.score(items);
    expect(got.map((x) => x['id'])).toEqual(ids);
    got.forEach((x, i) => {
      expect(Object.keys(x).sort()).toEqual(['id', 'probability', 'reward', 'tokens', 'truncated']);
      expect(x['reward']).toBeCloseTo(want[i]!.reward, 6);
      expect(x['probability']).toBeCloseTo(want[i]!.probability!, 6);
      expect(x['tokens']).toBe(want[i]!.tokens);
    });
    // a rerun finds every id done and appends nothing
    const again = await prmkit(['score', '-m', folder, '-i', join(dir, 'in.jsonl'), '-o', out]);
    expect(again.stderr).toContain('skipped 3 already in');
    expect(lines(readFileSync(out, 'utf8'))).toHaveLength(3);
  });

  it('maps a refused solution to its input line', async () => {
    const bad = [...rows, { problem: 'p', solution: 'a <|im_end|> b' }].map((r) => JSON.stringify(r)).join('\n');
    const r = await prmkit(['score', '-m', folder], bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/input line 4: solution contains "<\|im_end\|>"/);
    expect(lines(r.stdout)).toHaveLength(3);
  });

  it('PRM-only flags and commands refuse an ORM with exit 2', async () => {
    const agg = await prmkit(['score', '-m', folder, '--aggregate', 'min'], '');
    expect(agg.code).toBe(2);
    expect(agg.stderr).toMatch(/--aggregate applies to a PRM's step scores; an outcome reward model gives one score per solution/);
    const bench = await prmkit(['bench', '-m', folder]);
    expect(bench.code).toBe(2);
    expect(bench.stderr).toMatch(/prmkit bench needs a process reward model, and .* is an outcome reward model \(format plain-orm: one score per solution\)/);
  });
});

describe('prmkit serve with an ORM', () => {
  it('serves /v1/rerank with the ORM\'s scores and says what it serves', async () => {
    const stop = new AbortController();
    const c = io({ signal: stop.signal });
    const running = runCli(['serve', '-m', folder, '--port', '0', '--no-ui'], c);
    await when(c.stderr, 'wrote', () => / on http:\/\//.test(c.stderr.text));
    expect(c.stderr.text).toContain('an outcome reward model');
    const url = /on (http:\/\/\S+)/.exec(c.stderr.text)![1]!;
    const documents = ['3 + 4 = 7', '3 + 4 = 8'];
    const res = await fetch(`${url}/v1/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'What is 3 + 4?', documents }) });
    const body = await res.json();
    const want = await orm.score(documents.map((solution) => ({ problem: 'What is 3 + 4?', solution })));
    for (const r of body.results) expect(r.relevance_score).toBeCloseTo(want[r.index]!.probability!, 5);
    const info = await (await fetch(`${url}/v1/prm/info`)).json();
    expect(info).toMatchObject({ kind: 'orm', format: 'plain-orm' });
    stop.abort();
    expect(await running).toBe(0);
  });
});
