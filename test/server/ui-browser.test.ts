// The scoring page at GET / in a real browser (headless Chromium): `prmkit serve` runs as a
// child process with no model named (so on the arithmetic demo PRM the package ships) and an
// API key, the page is driven as a user would, and what it shows is checked against the
// service's own JSON answers for the same input and against the task's verifier. The demo
// PRM is a trained model with fixed weights: the input with a wrong third step is the first
// problem of a fixed seed on which its verdict agrees with the verifier at the page's
// default threshold, so the same problem is picked on every run.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createServer } from '../../lib/server/index.js';
import type { ModelChainScore, PrmServer } from '../../lib/server/index.js';
import type { ChainItem } from '../../lib/interfaces.js';
import { createArithmeticProblems, demoTaskOptions, formatStep, solveArithmetic, verifySteps } from '../../lib/testing/arithmetic.js';
import { DEMO_NAMES, DEMO_NOTE } from '../../lib/model/demo.js';
import type { ArithmeticProblem } from '../../lib/testing/arithmetic.js';
import { describeWhen, hasDemoPrm, NO_DEMO_PRM, NO_DIST } from '../helpers/index.js';
import { hasBrowser, launchChromium, NO_BROWSER } from '../helpers/browser.js';
import type { Browser } from '../helpers/browser.js';
import { mainJs, spawnPrmkit, when } from '../cli/helpers.js';
import { FakeModel, fakeTokens, probOf } from './fake-model.js';

const KEY = 'page-test-key';
const ready = hasBrowser && existsSync(mainJs) && hasDemoPrm;
const reason = !hasBrowser ? NO_BROWSER : !hasDemoPrm ? NO_DEMO_PRM : NO_DIST;

let browser: Browser;
let shots: string;

beforeAll(async () => {
  if (!hasBrowser) return;
  browser = await launchChromium();
  shots = mkdtempSync(join(tmpdir(), 'prmkit-ui-screens-'));
});
afterAll(async () => {
  await browser?.close();
});

/** The correct solution with a slip at step k (0-based): its result is off by 7 (a slip the size the demo PRM was trained on), later steps carry on from it. */
function slipAt(p: ArithmeticProblem, k: number): string[] {
  const steps = solveArithmetic(p);
  if (p.operations.slice(k + 1).some((o) => o.op === '/')) return steps; // a later division would not stay exact
  let v = k === 0 ? p.start : p.values[k - 1]!;
  for (let i = k; i < p.operations.length; i++) {
    const o = p.operations[i]!;
    const c = (o.op === '+' ? v + o.operand : o.op === '-' ? v - o.operand : o.op === '*' ? v * o.operand : v / o.operand) + (i === k ? 7 : 0);
    steps[i] = formatStep(v, o.op, o.operand, c, i === p.operations.length - 1);
    v = c;
  }
  return steps;
}

/** How the page writes a probability: three decimals, or three significant digits below 0.1. */
const shown3 = (p: number) => (Math.abs(p) >= 0.1 || p === 0 ? p.toFixed(3) : p.toPrecision(3));

/** A new page that records console errors, failed loads and every URL it asks for. */
async function openPage(width: number, height: number): Promise<{ page: Page; errors: string[]; urls: string[] }> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(60_000); // a loaded 2-core machine is slow, not broken
  await page.setViewportSize({ width, height });
  const errors: string[] = [];
  const urls: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => urls.push(r.url()));
  return { page, errors, urls };
}

/** Clicks Score (or runs `trigger`) and waits for the page's next render of results. */
async function scored(page: Page, trigger: () => Promise<void> = () => page.click('#score')): Promise<void> {
  const run = await page.$eval('#results', (e) => Number((e as HTMLElement).dataset.run ?? 0));
  await trigger();
  await page.waitForFunction((n) => Number(document.getElementById('results')!.dataset.run ?? 0) > n, run, { timeout: 60_000 });
}

async function setCandidates(page: Page, problem: string, texts: string[]): Promise<void> {
  await page.fill('#problem', problem);
  while ((await page.$$('#candidates textarea')).length < texts.length) await page.click('#add-candidate');
  while ((await page.$$('#candidates textarea')).length > texts.length) await page.click('#candidates .candidate:last-child .remove');
  for (const [i, t] of texts.entries()) await page.fill(`#candidate-${i + 1}`, t);
}

interface Shown {
  index: number;
  rank: number;
  firstError: number;
  steps: Array<{ cls: string; value: string; badge: boolean }>;
  aggregates: Record<string, string>;
}

const shownResults = (page: Page): Promise<Shown[]> =>
  page.$$eval('#ranking > li', (items) =>
    items.map((li) => {
      const e = li as HTMLElement;
      const aggregates: Record<string, string> = {};
      for (const d of e.querySelectorAll('.aggregates > div')) aggregates[d.querySelector('dt')!.textContent!] = d.querySelector('dd')!.textContent!;
      return {
        index: Number(e.dataset.index),
        rank: Number(e.dataset.rank),
        firstError: Number(e.dataset.firstError ?? NaN),
        steps: [...e.querySelectorAll('.step')].map((s) => ({ cls: s.className, value: s.querySelector('.value')?.textContent ?? '', badge: s.querySelector('.badge') !== null })),
        aggregates,
      };
    }),
  );

describeWhen(ready, 'the scoring page in Chromium, on prmkit serve with the demo PRM', reason, () => {
  let url: string;
  let stop: () => Promise<unknown>;
  let page: Page;
  let errors: string[];
  let urls: string[];

  const call = async (path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status, path).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    // no model flags: the demo PRM
    const p = spawnPrmkit(['serve', '--port', '0', '--api-key', KEY]);
    stop = async () => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
      return p.exited;
    };
    await Promise.race([
      when(p.child.stderr!, 'data', () => /scoring page at (\S+)\//.test(p.stderr())),
      p.exited.then((r) => Promise.reject(new Error(`prmkit serve ended: ${r.stderr}`))),
    ]);
    url = /scoring page at (\S+)\//.exec(p.stderr())![1]!;
    expect(p.stderr().split('\n')[0]).toBe(DEMO_NOTE);
    ({ page, errors, urls } = await openPage(1100, 900));
  });
  afterAll(async () => {
    await page?.close();
    await stop?.();
  });

  it('asks for the API key, then shows the model, its kind, format and backends', async () => {
    await page.goto(url + '/');
    await page.waitForSelector('#key-form:not([hidden])');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    await page.fill('#api-key', KEY);
    await page.press('#api-key', 'Enter');
    await page.waitForSelector('#model-info');
    const info = await call('/v1/prm/info');
    const shown = Object.fromEntries(await page.$$eval('#model-info > div', (ds) => ds.map((d) => [d.querySelector('dt')!.textContent, d.querySelector('dd')!.textContent])));
    expect(shown).toEqual({ model: DEMO_NAMES.prm, kind: 'PRM: a score per step', format: 'trl', backbone: 'onnx/cpu', kernels: info.kernels });
    expect(await page.isHidden('#key-form')).toBe(true);
    expect(await page.$$eval('#aggregate option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(info.aggregations);
    expect(await page.inputValue('#threshold')).toBe(String(info.errorThreshold));
  });

  it('marks step 3 of a chain with a wrong third step as its first error, and ranks the candidates as the service does', async () => {
    // the demo task's problems with a slip at step 3 (later steps carry on from it); the
    // first on which the demo PRM, at the default threshold, marks step 3 of the wrong chain,
    // no step of the correct one and step 2 of a chain that slips there (the verifier's truth)
    const problems = createArithmeticProblems(32, { ...demoTaskOptions, seed: 3 }).filter((p) => !p.operations.slice(2).some((o) => o.op === '/'));
    const sets = problems.map((p) => [slipAt(p, 2), solveArithmetic(p), slipAt(p, 1)]);
    sets.forEach((c, i) => expect(c.map((s) => verifySteps(problems[i]!, s).indexOf(false))).toEqual([2, -1, 1]));
    const info = await call('/v1/prm/info');
    const threshold: number = info.errorThreshold;
    const probe = await call('/v1/prm/score', { items: sets.flatMap((c, i) => c.map((steps) => ({ problem: problems[i]!.problem, steps }))) });
    const verdicts: number[] = probe.results.map((r: { firstError: number }) => r.firstError);
    const at = sets.findIndex((_, i) => verdicts.slice(3 * i, 3 * i + 3).join() === '2,-1,1');
    expect(at, `no problem among ${problems.length} on which the demo PRM finds the slips the verifier finds`).toBeGreaterThanOrEqual(0);
    const p = problems[at]!;
    const candidates = sets[at]!;

    await setCandidates(page, p.problem, candidates.map((s) => s.join('\n')));
    await page.selectOption('#aggregate', 'prod');
    expect(Number(await page.inputValue('#threshold'))).toBe(threshold);
    await scored(page);
    const shown = await shownResults(page);

    const service = await call('/v1/prm/score', { items: candidates.map((steps) => ({ problem: p.problem, steps })), aggregate: 'prod', errorThreshold: threshold });
    expect(service.results[0].firstError).toBe(2);
    const wrongShown = shown.find((c) => c.index === 0)!;
    expect(wrongShown.firstError).toBe(2);
    expect(wrongShown.steps.map((s) => s.badge)).toEqual([false, false, true, false]);
    expect(wrongShown.steps[2]!.cls).toContain('first-error');
    // every candidate: the service's first error, step probabilities and aggregates, as shown
    for (const c of shown) {
      const r = service.results[c.index];
      expect(c.firstError).toBe(r.firstError);
      expect(c.steps.filter((s) => s.cls.includes('first-error')).length).toBe(r.firstError >= 0 ? 1 : 0);
      expect(c.steps.map((s) => s.value)).toEqual(r.stepProbs.map(shown3));
      for (const [a, v] of Object.entries(r.aggregates)) expect(c.aggregates[a]).toBe(shown3(v as number));
    }
    // the order: the service's own ranking of the same candidates
    const ranked = await call('/v1/prm/rerank', { problem: p.problem, candidates, aggregate: 'prod', errorThreshold: threshold });
    expect(shown.map((c) => c.index)).toEqual(ranked.results.map((r: { index: number }) => r.index));
    expect(shown.map((c) => c.rank)).toEqual([1, 2, 3]);
    expect(ranked.results.find((r: { index: number }) => r.index === 0).firstError).toBe(2);

    // under another aggregation, re-ranked as the service ranks under it
    await scored(page, () => page.selectOption('#aggregate', 'min').then(() => undefined));
    const byMin = await call('/v1/prm/rerank', { problem: p.problem, candidates, aggregate: 'min', errorThreshold: threshold });
    expect((await shownResults(page)).map((c) => c.index)).toEqual(byMin.results.map((r: { index: number }) => r.index));
    await page.selectOption('#aggregate', 'prod');

    const file = join(shots, 'page-desktop.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot of the scoring page: ${file}`);
  });

  it('works from the keyboard: an example, then Ctrl+Enter', async () => {
    await page.focus('#problem');
    // back to the example buttons by Shift+Tab, as a keyboard user would
    for (let i = 0; i < 5 && (await page.evaluate(() => document.activeElement?.textContent)) !== 'Three candidates'; i++) await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Three candidates');
    await page.keyboard.press('Enter');
    expect(await page.$$('#candidates textarea')).toHaveLength(3);
    await page.focus('#candidate-1');
    await scored(page, () => page.keyboard.press('Control+Enter'));
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('results-heading');
    expect(await page.$$('#ranking > li')).toHaveLength(3);
  });

  it('is readable at phone width: nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const file = join(shots, 'page-phone.png');
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot of the scoring page at phone width: ${file}`);
    await page.setViewportSize({ width: 1100, height: 900 });
  });

  it('loaded nothing from outside the service and logged no errors but the one refusal without a key', () => {
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((u) => !u.startsWith(url + '/'))).toEqual([]);
    // Chromium logs the 401 that made the page ask for the key; nothing else may be logged
    // (a blocked script or style would be a content-security-policy error here)
    expect(errors).toEqual(['Failed to load resource: the server responded with a status of 401 (Unauthorized)']);
  });
});

/** An outcome reward model stand-in: one score per solution (its text as one step). */
class FakeOrm extends FakeModel {
  readonly kind = 'orm' as const;
  override async score(items: ChainItem[]): Promise<ModelChainScore[]> {
    return items.map((it) => {
      const p = probOf(`${it.problem}|${it.steps.join('\n\n')}`);
      return { stepLogProbs: [], outcome: { reward: Math.log(p / (1 - p)), probability: p }, tokens: fakeTokens(it), truncated: false };
    });
  }
}

describeWhen(hasBrowser, 'the scoring page in Chromium, for an ORM', NO_BROWSER, () => {
  let server: PrmServer;
  let url: string;

  beforeAll(async () => {
    server = createServer({ model: new FakeOrm() });
    ({ url } = await server.listen({ port: 0 }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('shows one score per candidate, in the order /v1/rerank gives, and no step scores', async () => {
    const { page, errors } = await openPage(800, 900);
    try {
      await page.goto(url + '/');
      await page.waitForSelector('#model-info');
      expect(await page.$eval('#model-info', (e) => e.textContent)).toContain('ORM: one score per solution');
      expect(await page.isVisible('#aggregate')).toBe(false);
      const problem = 'Start with 4, add 3. What is the result?';
      const texts = ['4 + 3 = 7. The answer is \\boxed{7}.', '4 + 3 = 8. The answer is \\boxed{8}.', '4 + 3 = 7\nso 7. The answer is \\boxed{7}.'];
      await setCandidates(page, problem, texts);
      await scored(page);
      const res = await fetch(`${url}/v1/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: problem, documents: texts }) });
      const ranked = (await res.json()).results as Array<{ index: number; relevance_score: number }>;
      const shown = await page.$$eval('#ranking > li', (items) => items.map((li) => ({ index: Number((li as HTMLElement).dataset.index), value: li.querySelector('.value')!.textContent, steps: li.querySelectorAll('.step').length })));
      expect(shown).toEqual(ranked.map((r) => ({ index: r.index, value: shown3(r.relevance_score), steps: 0 })));
      expect(errors).toEqual([]);
      await page.screenshot({ path: join(shots, 'page-orm.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });
});

/** An implicit PRM stand-in: per-step log-likelihood ratios, which the service turns into rewards. */
class FakeImplicit extends FakeModel {
  readonly rewards = { beta: 0.5, rewards: 'step' as const };
  override async score(items: ChainItem[]): Promise<ModelChainScore[]> {
    return items.map((it) => ({
      stepLogProbs: [],
      stepLogRatios: it.steps.map((s, i) => {
        const p = probOf(`${it.problem}|${i}|${s}`);
        return Math.log(p / (1 - p)) - 1; // shifted so that some steps get a negative reward
      }),
      tokens: fakeTokens(it),
      truncated: false,
    }));
  }
}

describeWhen(hasBrowser, 'the scoring page in Chromium, for an implicit PRM', NO_BROWSER, () => {
  let server: PrmServer;
  let url: string;

  beforeAll(async () => {
    server = createServer({ model: new FakeImplicit() });
    ({ url } = await server.listen({ port: 0 }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it("shows each step's reward (not a probability), the first reward below the threshold, in the service's order", async () => {
    const { page, errors } = await openPage(900, 1000);
    try {
      await page.goto(url + '/');
      await page.waitForSelector('#model-info');
      expect(await page.$eval('#model-info', (e) => e.textContent)).toContain('implicit PRM: a reward per step');
      expect(await page.$eval('#threshold-text', (e) => e.textContent)).toBe('First error: reward below');
      expect(await page.inputValue('#threshold')).toBe('0');
      const info = await (await fetch(`${url}/v1/prm/info`)).json();
      expect(await page.$$eval('#aggregate option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(info.aggregations);
      const problem = 'Start with 4, add 3, then double. What is the result?';
      const texts = ['4 + 3 = 7\n7 * 2 = 14', '4 + 3 = 8\n8 * 2 = 16', '4 + 3 = 7\n7 * 2 = 15', '4 + 3 = 7\n7 * 2 = 14. The answer is 14.'];
      await setCandidates(page, problem, texts);
      await scored(page);
      const steps = texts.map((t) => t.split('\n'));
      const how = await page.inputValue('#aggregate');
      const res = await fetch(`${url}/v1/prm/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: steps.map((s) => ({ problem, steps: s })), aggregate: how, rewardThreshold: 0 }) });
      const service = (await res.json()).results as Array<{ stepRewards: number[]; firstError: number; aggregates: Record<string, number> }>;
      expect(service.some((r) => r.stepRewards.some((q) => q < 0))).toBe(true);
      const shown = await shownResults(page);
      for (const c of shown) {
        const r = service[c.index]!;
        expect(c.steps.map((s) => s.value)).toEqual(r.stepRewards.map(shown3));
        expect(c.firstError).toBe(r.firstError);
        expect(c.steps.filter((s) => s.badge).length).toBe(r.firstError >= 0 ? 1 : 0);
        for (const [a, v] of Object.entries(r.aggregates)) expect(c.aggregates[a]).toBe(shown3(v));
      }
      const ranked = await fetch(`${url}/v1/prm/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ problem, candidates: steps, aggregate: how, rewardThreshold: 0 }) });
      expect(shown.map((c) => c.index)).toEqual(((await ranked.json()).results as Array<{ index: number }>).map((r) => r.index));
      expect(await page.$eval('#results-note', (e) => e.textContent)).toContain('reward');
      expect(errors).toEqual([]);
      await page.screenshot({ path: join(shots, 'page-implicit.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });
});
