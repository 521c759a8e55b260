// The evaluator on the real ProcessBench files (the shared data directory): the sanity
// figures (oracle 100, always-correct 0 on erroneous samples), through the library and the CLI.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateProcessBench, readProcessBench } from '../../lib/eval/processbench/index.js';
import { AlwaysCorrectScorer, OracleScorer } from '../../lib/eval/scorers.js';
import { describeWhen, hasProcessBench, NO_PROCESSBENCH, processBenchDir, runEval } from './helpers.js';

describeWhen(hasProcessBench, 'ProcessBench real data', NO_PROCESSBENCH, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'prmkit-eval-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reads every subset with its documented shape', async () => {
    const subsets = await readProcessBench(processBenchDir);
    const names = subsets.map((s) => s.name);
    expect(names).toContain('gsm8k');
    expect(names).toContain('math');
    const gsm8k = subsets.find((s) => s.name === 'gsm8k')!;
    expect(gsm8k.records.length).toBe(400);
    expect(gsm8k.records[0]!.id).toBe('gsm8k-0');
    // both classes are present, as the metric needs
    expect(gsm8k.records.some((r) => r.label === -1)).toBe(true);
    expect(gsm8k.records.some((r) => r.label >= 0)).toBe(true);
  });

  it('oracle scorer: F1 100 on every subset', async () => {
    const subsets = await readProcessBench(processBenchDir);
    const run = await evaluateProcessBench(subsets, { scorer: new OracleScorer(subsets.flatMap((s) => s.records)) });
    for (const s of run.metrics.subsets) {
      expect(s.erroneousAccuracy).toBe(100);
      expect(s.correctAccuracy).toBe(100);
      expect(s.f1).toBe(100);
    }
    expect(run.metrics.averageF1).toBe(100);
  });

  it('always-correct scorer: 0 on erroneous samples, 100 on correct ones, F1 0', async () => {
    const subsets = await readProcessBench(processBenchDir);
    const run = await evaluateProcessBench(subsets, { scorer: new AlwaysCorrectScorer() });
    for (const s of run.metrics.subsets) {
      expect(s.erroneous.total).toBeGreaterThan(0);
      expect(s.erroneousAccuracy).toBe(0);
      expect(s.correctAccuracy).toBe(100);
      expect(s.f1).toBe(0);
    }
  });

  it('CLI: oracle table and JSON, predictions round trip, tuned threshold', async () => {
    const preds = join(tmp, 'oracle.jsonl');
    const json = join(tmp, 'oracle.json');
    const r = await runEval(['processbench', '--data', processBenchDir, '--scorer', 'oracle', '--write-predictions', preds, '--json', json]);
    expect(r.stderr).not.toMatch(/prmkit eval:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/gsm8k\s+400\s+100\.0 \(207\/207\)\s+100\.0 \(193\/193\)\s+100\.0/);
    expect(r.stdout).toMatch(/average\s+100\.0/);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.averageF1).toBe(100);
    expect(report.subsets.map((s: { subset: string }) => s.subset)).toEqual(['gsm8k', 'math']);

    // metrics only, from the predictions just written
    const again = await runEval(['processbench', '--data', processBenchDir, '--predictions', preds, '--json', '-']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).averageF1).toBe(100);

    // tuning an oracle threshold on gsm8k keeps F1 100 everywhere
    const tuned = await runEval(['processbench', '--data', processBenchDir, '--scorer', 'oracle', '--tune-on', 'gsm8k', '--json', '-']);
    expect(tuned.code).toBe(0);
    const t = JSON.parse(tuned.stdout);
    expect(t.tuned.subset).toBe('gsm8k');
    expect(t.tuned.threshold).toBeGreaterThan(0);
    expect(t.averageF1).toBe(100);
  });

  it('CLI: always-correct on one subset', async () => {
    const r = await runEval(['processbench', '--data', processBenchDir, '--subsets', 'gsm8k', '--scorer', 'always-correct', '--json', '-']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.subsets).toHaveLength(1);
    expect(report.subsets[0]).toMatchObject({ subset: 'gsm8k', erroneousAccuracy: 0, correctAccuracy: 100, f1: 0 });
  });

  it('CLI: a missing or unknown id in a predictions file is an error naming it', async () => {
    const subsets = await readProcessBench(processBenchDir, { subsets: ['gsm8k'] });
    const lines = subsets[0]!.records.map((r) => JSON.stringify({ id: r.id, prediction: -1 }));
    const missing = join(tmp, 'missing.jsonl');
    writeFileSync(missing, lines.filter((l) => !l.includes('"gsm8k-17"')).join('\n') + '\n');
    const m = await runEval(['processbench', '--data', processBenchDir, '--subsets', 'gsm8k', '--predictions', missing]);
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/no prediction for id gsm8k-17/);
    expect(m.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const unknown = join(tmp, 'unknown.jsonl');
    writeFileSync(unknown, [...lines, JSON.stringify({ id: 'gsm8k-99999', prediction: 0 })].join('\n') + '\n');
    const u = await runEval(['processbench', '--data', processBenchDir, '--subsets', 'gsm8k', '--predictions', unknown]);
    expect(u.code).toBe(1);
    expect(u.stderr).toMatch(/unknown id gsm8k-99999/);

    // the same file against all subsets: every math id is missing
    const all = join(tmp, 'only-gsm8k.jsonl');
    writeFileSync(all, lines.join('\n') + '\n');
    const a = await runEval(['processbench', '--data', processBenchDir, '--predictions', all]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/no prediction for id math-0/);
  });
});
