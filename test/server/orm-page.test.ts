// The scoring page at GET / in headless Chromium on real (tiny) outcome reward models: the page
// reads GET /v1/prm/info, takes the ORM layout (no aggregate, no threshold, no step scores) and
// shows each candidate's score in the order /v1/rerank gives, for a raw reward model (scores
// outside [0, 1]) and for a sigmoid head (probabilities).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Orm } from '../../lib/orm/index.js';
import { createServer, ormServerModel } from '../../lib/server/index.js';
import { describeWhen } from '../helpers/index.js';
import { hasBrowser, launchChromium, NO_BROWSER } from '../helpers/browser.js';
import type { Browser } from '../helpers/browser.js';
import { cleanup, tinyFolder } from '../orm/helpers.js';

/** The page's number format: three decimals, or three significant digits below 0.1. */
const shown3 = (p: number) => (Math.abs(p) >= 0.1 || p === 0 ? p.toFixed(3) : p.toPrecision(3));

let browser: Browser;
beforeAll(async () => {
  if (hasBrowser) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  cleanup();
});

describeWhen(hasBrowser, 'the scoring page on a served Orm', NO_BROWSER, () => {
  for (const format of ['skywork-reward', 'plain-orm'] as const) {
    it(`${format}: one score per candidate, in /v1/rerank's order, no step scores`, async () => {
      const orm = await Orm.load({ model: (await tinyFolder(format, { seed: 21 })).folder, workers: { threads: 1 } });
      const server = createServer({ model: ormServerModel(orm) });
      const { url } = await server.listen({ port: 0 });
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      page.on('pageerror', (e) => errors.push(e.message));
      try {
        await page.goto(url + '/');
        await page.waitForSelector('#model-info');
        expect(await page.$eval('#model-info', (e) => e.textContent)).toContain('ORM: one score per solution');
        expect(await page.isVisible('#aggregate')).toBe(false);
        const problem = 'Start with 4, add 3. What is the result?';
        const texts = ['4 + 3 = 7\nThe answer is 7.', '4 + 3 = 8\nThe answer is 8.', '4 + 3 = 7'];
        await page.fill('#problem', problem);
        while ((await page.$$('#candidates textarea')).length < texts.length) await page.click('#add-candidate');
        while ((await page.$$('#candidates textarea')).length > texts.length) await page.click('#candidates .candidate:last-child .remove');
        for (const [i, t] of texts.entries()) await page.fill(`#candidate-${i + 1}`, t);
        const run = await page.$eval('#results', (e) => Number((e as HTMLElement).dataset.run ?? 0));
        await page.click('#score');
        await page.waitForFunction((n) => Number(document.getElementById('results')!.dataset.run ?? 0) > n, run, { timeout: 60_000 });
        const want = await orm.score(texts.map((solution) => ({ problem, solution })));
        const scores = want.map((w) => w.probability ?? w.reward);
        const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
        const shown = await page.$$eval('#ranking > li', (items) =>
          items.map((li) => ({ index: Number((li as HTMLElement).dataset.index), value: li.querySelector('.value')!.textContent, steps: li.querySelectorAll('.step').length })),
        );
        expect(shown).toEqual(order.map((i) => ({ index: i, value: shown3(scores[i]!), steps: 0 })));
        expect(errors).toEqual([]);
      } finally {
        await page.close();
        await server.close();
      }
    });
  }
});
