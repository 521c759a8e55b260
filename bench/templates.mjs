#!/usr/bin/env node
// What bounding chat templates costs on ordinary ones (npm run bench:templates): the service's
// renderer (a worker thread, the interpreter metered per node, every string and list measured)
// against what it replaced, @huggingface/jinja's Template.render called on the event loop,
// both on the same compiled template and messages in the same run. Qwen2.5-Math-PRM's own
// chat template (the tiny test tokenizer's when the shared checkpoint is absent) renders a
// 3-message PRM chat and a 64-message one.
// Measured per way: the median time of one render alone, renders per second with 16 in
// flight, and the event-loop time each render costs (what other requests wait for).
// Prints a table; writes bench/results/templates.json (`--quick`: fewer renders, elsewhere).
// Needs `npm run build:ts` first.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Template } from '@huggingface/jinja';
import { ChatRenderer } from '../dist/server/chat/renderer.js';
import { DEFAULT_LIMITS, DEFAULT_TEMPLATE_LIMITS } from '../dist/server/config.js';
import { TINY_CHAT_TEMPLATE } from '../dist/testing/tiny-tokenizer.js';
import { benchHeader, writeResult } from './lib/out.mjs';

benchHeader('templates');
const quick = process.argv.includes('--quick');
const ALONE = quick ? 200 : 3000;
const BURST = quick ? 400 : 6000;
const IN_FLIGHT = 16;

const shared = join(import.meta.dirname, '..', '..', 'shared', 'data', 'checkpoints', 'qwen2.5-math-prm', 'tokenizer_config.json');
const dataDir = process.env.PRMKIT_SHARED_DATA ? join(process.env.PRMKIT_SHARED_DATA, 'checkpoints', 'qwen2.5-math-prm', 'tokenizer_config.json') : shared;
const [templateName, source] = existsSync(dataDir)
  ? ['Qwen2.5-Math-PRM', JSON.parse(readFileSync(dataDir, 'utf8')).chat_template]
  : ['tiny test tokenizer', TINY_CHAT_TEMPLATE];

const steps = Array.from({ length: 8 }, (_, i) => `Step ${i + 1}: we compute ${i} + ${i + 1} = ${2 * i + 1}, and carry on.`);
const prmChat = [
  { role: 'system', content: 'Please reason step by step, and put your final answer within \\boxed{}.' },
  { role: 'user', content: 'Sue has 18 flamingos and paints 6 of them white. How many pink ones are left?' },
  { role: 'assistant', content: steps.join('<extra_0>') + '<extra_0>' },
];
const longChat = Array.from({ length: 64 }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `Turn ${i}: ${steps[i % 8]}` }));
const chats = [
  ['3 messages', prmChat],
  ['64 messages', longChat],
];

const budget = { ...DEFAULT_TEMPLATE_LIMITS, maxChars: DEFAULT_LIMITS.maxItemChars, maxItems: DEFAULT_LIMITS.maxItemChars };
const compiled = new Template(source);
const context = (messages) => ({ messages, add_generation_prompt: false, bos_token: '', eos_token: '<|im_end|>' });

const ways = {
  'Template.render on the event loop': async (messages) => compiled.render(context(messages)),
  'bounded renderer (worker, metered)': null, // set below
};
const renderer = new ChatRenderer({ budget, maxQueued: IN_FLIGHT * 2 });
ways['bounded renderer (worker, metered)'] = (messages) => renderer.render(source, context(messages));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function measure(render, messages) {
  const expected = compiled.render(context(messages));
  if ((await render(messages)) !== expected) throw new Error('the two ways render different text');
  for (let i = 0; i < 50; i++) await render(messages); // warm-up
  const alone = [];
  for (let i = 0; i < ALONE; i++) {
    const t0 = performance.now();
    await render(messages);
    alone.push(performance.now() - t0);
  }
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < BURST) await render(messages);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  return {
    medianUs: median(alone) * 1000,
    perSecond: BURST / seconds,
    loopUsPerRender: (elu.active / BURST) * 1000,
  };
}

const rows = [];
for (const [chatName, messages] of chats) {
  const base = await measure(ways['Template.render on the event loop'], messages);
  const bounded = await measure(ways['bounded renderer (worker, metered)'], messages);
  rows.push({ chat: chatName, way: 'Template.render on the event loop', ...base });
  rows.push({ chat: chatName, way: 'bounded renderer (worker, metered)', ...bounded, vs: { median: bounded.medianUs / base.medianUs, perSecond: bounded.perSecond / base.perSecond, loop: bounded.loopUsPerRender / base.loopUsPerRender } });
}
await renderer.close();

const f = (x, d = 1) => x.toFixed(d);
const header = ['chat', 'way', 'median µs', 'renders/s (16 in flight)', 'event-loop µs / render', 'x in-process (median, loop)'];
const lines = rows.map((r) => [r.chat, r.way, f(r.medianUs), f(r.perSecond, 0), f(r.loopUsPerRender), r.vs ? `${f(r.vs.median, 2)}, ${f(r.vs.loop, 2)}` : '1.00, 1.00']);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
const table = [header, widths.map((w) => '-'.repeat(w)), ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
const report = [
  `chat templates: ${templateName}'s own, budget ${budget.maxSteps} steps / ${budget.timeoutMs} ms / ${budget.maxChars} characters; ${ALONE} renders alone, ${BURST} with ${IN_FLIGHT} in flight`,
  ...table,
];
console.log(report.join('\n'));
const file = writeResult('templates', { template: templateName, budget, rows }, { quick, report });
console.log(`wrote ${file}`);
