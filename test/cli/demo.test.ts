// The demo PRM the package ships: `prmkit score`, `prmkit bench` and `prmkit serve` given no
// model use it and say so in one stderr line; `Prm.demo()` opens the same folder. Its verdicts
// are checked against the arithmetic task's verifier (the truth of every step), its numbers
// against Prm.load on the same folder.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import { DEMO_NAMES, DEMO_NOTE, demoModelDir, hasDemoModel } from '../../lib/model/demo.js';
import { Prm } from '../../lib/prm/index.js';
import { Orm } from '../../lib/orm/index.js';
import { createArithmeticProblems, demoTaskOptions, solveArithmetic, verifySteps } from '../../lib/testing/arithmetic.js';
import { describeWhen, hasDemoPrm, NO_DEMO_PRM } from '../helpers/index.js';
import { io, prmkit, when } from './helpers.js';

const problem = 'Start with 39, subtract 10, multiply by 3, multiply by 9, then subtract 32. What is the result?';
const wrongThird = ['39 - 10 = 29', '29 * 3 = 87', '87 * 9 = 790', '790 - 32 = 758. The answer is \\boxed{758}.'];
const right = ['39 - 10 = 29', '29 * 3 = 87', '87 * 9 = 783', '783 - 32 = 751. The answer is \\boxed{751}.'];

describeWhen(hasDemoPrm, 'Prm.demo()', NO_DEMO_PRM, () => {
  let prm: Prm;
  beforeAll(async () => {
    prm = await Prm.demo();
  });
  afterAll(() => prm?.close());

  it('opens the folder the package ships, named as the demo, in its trl format', async () => {
    expect(hasDemoModel('prm')).toBe(true);
    expect(prm.name).toBe(DEMO_NAMES.prm);
    expect(prm.format.name).toBe('trl');
    const same = await Prm.load({ model: demoModelDir('prm') });
    try {
      const items = [{ problem, steps: wrongThird }, { problem, steps: right }];
      const [a, b] = [await prm.score(items), await same.score(items)];
      a.forEach((r, i) => r.stepProbs.forEach((p, k) => expect(p).toBe(b[i]!.stepProbs[k])));
    } finally {
      await same.close();
    }
  });

  it("marks a slip where the task's verifier puts it", async () => {
    const p = createArithmeticProblems(1, { ...demoTaskOptions, seed: 2024 })[0]!;
    expect(p.problem).toBe(problem);
    expect(verifySteps(p, wrongThird).indexOf(false)).toBe(2);
    expect(solveArithmetic(p)).toEqual(right);
    const [bad, good] = await prm.score([{ problem, steps: wrongThird }, { problem, steps: right }], { errorThreshold: 0.5 });
    expect(bad!.firstError).toBe(2);
    expect(good!.firstError).toBe(-1);
    expect(good!.score).toBeGreaterThan(bad!.score);
  });

  it('refuses the options that would name another model, before opening anything', async () => {
    await expect(Prm.demo({ model: 'x' } as never)).rejects.toThrow(/options\.model is not an option of Prm\.demo/);
    await expect(Prm.demo({ format: 'trl' } as never)).rejects.toThrow(TypeError);
    await expect(Prm.demo('x' as never)).rejects.toThrow(TypeError);
  });
});

describeWhen(hasDemoModel('orm'), 'Orm.demo()', 'the demo ORM is not in this checkout', () => {
  it('opens the ORM the package ships, as Orm.load does, and prefers the right final answer', async () => {
    const orm = await Orm.demo();
    const same = await Orm.load({ model: demoModelDir('orm') });
    try {
      expect(orm.name).toBe(DEMO_NAMES.orm);
      const items = [{ problem, steps: right }, { problem, steps: wrongThird }];
      const [a, b] = [await orm.score(items), await same.score(items)];
      a.forEach((r, i) => expect(r.reward).toBe(b[i]!.reward));
      expect(a[0]!.reward).toBeGreaterThan(a[1]!.reward);
    } finally {
      await orm.close();
      await same.close();
    }
  });

  it('refuses the options that would name another model', async () => {
    await expect(Orm.demo({ model: 'x' } as never)).rejects.toThrow(/options\.model is not an option of Orm\.demo/);
    await expect(Orm.demo(null as never)).rejects.toThrow(TypeError);
  });
});

describeWhen(hasDemoPrm, 'commands given no model', NO_DEMO_PRM, () => {
  it('prmkit score scores on the demo PRM, with one line saying so', async () => {
    const r = await prmkit(['score'], JSON.stringify({ id: 'a', problem, steps: wrongThird }) + '\n');
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines.filter((l) => l === DEMO_NOTE)).toHaveLength(1);
    expect(lines[0]).toBe(DEMO_NOTE);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ id: 'a', aggregate: 'prod', firstError: 2 });
    expect(out.stepProbs).toHaveLength(4);
  });

  it('prmkit bench measures the demo PRM', async () => {
    const r = await prmkit(['bench', '--chains', '2', '--steps', '2', '--batch-sizes', '2', '--repeat', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`${DEMO_NOTE}\n`);
    expect(r.stdout).toContain(`prmkit bench: ${DEMO_NAMES.prm} (onnx/cpu)`);
  });

  it('prmkit serve serves the demo PRM and its page', async () => {
    const stop = new AbortController();
    const c = io({ signal: stop.signal });
    const running = runCli(['serve', '--port', '0'], c);
    try {
      await when(c.stderr, 'wrote', () => /scoring page at/.test(c.stderr.text));
      const lines = c.stderr.text.split('\n');
      expect(lines[0]).toBe(DEMO_NOTE);
      expect(lines[1]).toMatch(new RegExp(`^prmkit serve: ${DEMO_NAMES.prm} on http://`));
      const url = /on (http:\/\/\S+)/.exec(c.stderr.text)![1]!;
      const info = await (await fetch(`${url}/v1/prm/info`)).json();
      expect(info).toMatchObject({ model: DEMO_NAMES.prm, kind: 'prm', format: 'trl' });
      const res = await fetch(`${url}/v1/prm/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [{ problem, steps: wrongThird }] }) });
      expect((await res.json()).results[0].firstError).toBe(2);
      expect((await fetch(`${url}/`)).status).toBe(200);
    } finally {
      stop.abort();
    }
    expect(await running).toBe(0);
    expect(c.stderr.text.split('\n').filter((l) => l === DEMO_NOTE)).toHaveLength(1);
  });

  it('a command naming any model flag gets no demo and no note', async () => {
    const r = await prmkit(['score', '-t', 'x', '-f', 'math-shepherd']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('score needs --model');
    expect(r.stderr).not.toContain(DEMO_NOTE);
    const h = await prmkit(['serve', '--head', 'h.safetensors']);
    expect(h.code).toBe(2);
    expect(h.stderr).not.toContain(DEMO_NOTE);
  });
});
