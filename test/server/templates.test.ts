// Chat templates are programs. A request's own one is refused unless the server trusts
// them; trusted or not, every template renders on the template thread under a step, time
// and size budget, so none can stall or end the service. Hostile templates here are answered
// 4xx while /health keeps answering; the renderer is also driven directly, down to a render
// its thread cannot stop by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatRenderer, TemplateFailure } from '../../lib/server/chat/renderer.js';
import { mulberry32 } from '../../lib/random.js';
import { createServer } from '../../lib/server/index.js';
import type { PrmServer, ServerOptions } from '../../lib/server/index.js';
import { FakeModel } from './fake-model.js';
import { get, postJson } from './http.js';

/** The fake with a chat template of its own. */
function chatModel(): FakeModel {
  const model = new FakeModel();
  Object.defineProperty(model, 'tokenizer', {
    value: { ...model.tokenizer, chat: { template: '{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}', bosToken: '', eosToken: '' } },
  });
  return model;
}

const servers: PrmServer[] = [];
async function serve(options: Partial<ServerOptions> = {}): Promise<string> {
  const server = createServer({ model: chatModel(), ...options });
  servers.push(server);
  return (await server.listen()).url;
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const hi = [{ role: 'user', content: 'hi' }];

/** Hostile templates: what each one does, and the answer it gets. */
const HOSTILE: Array<[string, string, number]> = [
  ['a billion-step loop', '{% for i in range(1000000000) %}{% endfor %}x', 413],
  ['a string doubled 25 times', "{% set ns = namespace(s='xx') %}{% for i in range(25) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", 413],
  ['a 4 M-character output', `{% for i in range(40000) %}${'x'.repeat(100)}{% endfor %}`, 413],
  ['range(3e5)', '{% for i in range(300000) %}{{ i }}{% endfor %}', 413],
  ['nested loops with empty bodies', '{% for i in range(60000) %}{% for j in range(60000) %}{% endfor %}{% endfor %}', 400],
  ['a list doubled 40 times', '{% set ns = namespace(a=[1, 2]) %}{% for i in range(40) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|length }}', 413],
  ["tojson's indent of 10^8", '{{ messages|tojson(indent=100000000) }}', 413],
  ['an indent of 3*10^8', "{{ 'a\nb'|indent(300000000) }}", 413],
  ['a join of 64 M characters', "{% set ns = namespace(s='x', a=[]) %}{% for i in range(14) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{% set ns.a = [ns.s] %}{% for i in range(12) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|join('') }}", 413],
  ['deep recursion in the parser', `{{ ${'('.repeat(20000)}1${')'.repeat(20000)} }}`, 400],
  ['a syntax error', '{% for %}', 400],
  ['its own raise_exception', "{{ raise_exception('roles must alternate') }}", 400],
];

describe('chat templates from requests', () => {
  it('are refused unless the server trusts them, as vLLM refuses them (also inside chat_template_kwargs)', async () => {
    const url = await serve();
    for (const route of ['/pooling', '/tokenize']) {
      const r = await postJson(url, route, { messages: hi, chat_template: '{{ messages[0].content }}' });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ param: 'chat_template', message: expect.stringContaining('--trust-request-chat-template is not set') });
    }
    const kw = await postJson(url, '/tokenize', { messages: hi, chat_template_kwargs: { chat_template: 'x' } });
    expect(kw.status).toBe(400);
    // the model's own template still renders
    const own = await postJson(url, '/tokenize', { messages: hi, add_special_tokens: false });
    expect(own.status).toBe(200);
    expect(own.body.count).toBe('<|user|>hi\n'.length);
  });

  it('render when trusted, with the chat options and kwargs as template variables', async () => {
    const url = await serve({ trustRequestChatTemplate: true });
    const r = await postJson(url, '/tokenize', {
      messages: hi,
      add_special_tokens: false,
      chat_template: '{{ greeting }} {{ messages[0].content }}{% if add_generation_prompt %}!{% endif %}',
      chat_template_kwargs: { greeting: 'well' },
    });
    expect(r.status).toBe(200);
    expect(String.fromCharCode(...r.body.tokens)).toBe('well hi!');
  });

  describe('hostile ones are answered, and the service keeps serving', () => {
    let url = '';
    beforeAll(async () => {
      // a time budget no render here reaches on a loaded machine: each stops at the bound it is about
      url = await serve({ trustRequestChatTemplate: true, templateBudget: { timeoutMs: 20_000 } });
    });
    for (const [what, template, status] of HOSTILE) {
      it(`${what}: ${status}`, async () => {
        const r = await postJson(url, '/tokenize', { messages: hi, chat_template: template });
        expect(r.status, JSON.stringify(r.body)).toBe(status);
        expect(r.body.error.param).toBe('chat_template');
        expect((await get(url, '/health')).status).toBe(200);
        // and the next chat renders as it should
        const ok = await postJson(url, '/tokenize', { messages: hi, add_special_tokens: false });
        expect(ok.body.count).toBe(11);
      });
    }

    it('/health answers while a template runs to its time budget', async () => {
      const slow = createServer({ model: chatModel(), trustRequestChatTemplate: true, templateBudget: { timeoutMs: 3000, maxSteps: 1e9 } });
      servers.push(slow);
      const { url: slowUrl } = await slow.listen();
      const order: string[] = [];
      const template = postJson(slowUrl, '/pooling', { messages: hi, chat_template: '{% for i in range(60000) %}{% for j in range(60000) %}{% endfor %}{% endfor %}' }).then((r) => {
        order.push('template');
        return r;
      });
      // the render is under way once the thread has it; /health is answered meanwhile
      while (slow.context.chat.pending === 0) await new Promise((r) => setTimeout(r, 5));
      const health = await get(slowUrl, '/health');
      order.push('health');
      expect(health.status).toBe(200);
      const r = await template;
      expect(order).toEqual(['health', 'template']);
      expect(r.status).toBe(400);
      expect(r.body.error.message).toMatch(/chat_template exceeds the render budget: the template ran longer than 3000 ms/);
    });
  });

  it("10^5 messages: refused by count (limits.maxItems), and past that by the model's own template's budget", async () => {
    const messages = Array.from({ length: 100_000 }, () => ({ role: 'user', content: 'x' }));
    const counted = await postJson(await serve(), '/tokenize', { messages });
    expect(counted.status).toBe(413);
    expect(counted.body.error).toMatchObject({ param: 'messages', message: 'messages has 100000 messages; the limit is 256' });
    const rendered = await postJson(await serve({ limits: { maxItems: 200_000, maxRequestTokens: 262_144 }, batching: { maxQueueTokens: 1 << 20 } }), '/tokenize', { messages });
    expect(rendered.status).toBe(413);
    expect(rendered.body.error.param).toBe('messages');
    expect(rendered.body.error.message).toMatch(/^(messages take too long to render|the model's chat template output is over the limit)/);
  });
});

describe('the renderer', () => {
  const budget = { maxSteps: 10_000, timeoutMs: 20_000, maxChars: 1000, maxItems: 1000 };

  it('renders, counts and refuses by kind; a refused render leaves the thread to the next', async () => {
    const r = new ChatRenderer({ budget });
    try {
      expect(await r.render('{{ a }}-{{ b|length }}', { a: 'x', b: [1, 2, 3] })).toBe('x-3');
      await expect(r.render('{% for i in range(5000) %}{% endfor %}', {})).rejects.toMatchObject({ kind: 'size' });
      await expect(r.render('{% for i in range(900) %}{% for j in range(900) %}{% endfor %}{% endfor %}', {})).rejects.toMatchObject({ kind: 'steps' });
      await expect(r.render('{% if %}', {})).rejects.toMatchObject({ kind: 'syntax' });
      await expect(r.render('{{ raise_exception("no") }}', {})).rejects.toMatchObject({ kind: 'render', message: 'no' });
      expect(await r.render('{{ range(3)|length }}', {})).toBe('3');
    } finally {
      await r.close();
    }
  });

  it('ends a thread that cannot stop a render itself (one long step), and renders the next on a fresh one', async () => {
    const r = new ChatRenderer({ budget: { ...budget, timeoutMs: 50, maxItems: 10_000_000 }, graceMs: 0 });
    try {
      // one sort of 10^6 items is a single step: only the service's timer can end it
      const big = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);
      await expect(r.render('{{ (big|sort)|length }}', { big })).rejects.toMatchObject({ kind: 'time', message: expect.stringContaining('its thread was ended') });
      expect(await r.render('{{ "ok" }}', {})).toBe('ok');
    } finally {
      await r.close();
    }
  });

  it('refuses renders past its queue, and every waiting one when closed', async () => {
    const r = new ChatRenderer({ budget: { ...budget, maxSteps: 1e9 }, maxQueued: 1 });
    const long = r.render('{% for i in range(900) %}{% for j in range(900) %}{% endfor %}{% endfor %}', {});
    const waiting = r.render('x', {});
    await expect(r.render('y', {})).rejects.toMatchObject({ kind: 'busy' });
    const settled = Promise.allSettled([long, waiting]);
    await r.close();
    const [a, b] = await settled;
    expect(a.status).toBe('rejected');
    expect(b).toMatchObject({ status: 'rejected', reason: { kind: 'busy' } });
    await expect(r.render('z', {})).rejects.toMatchObject({ kind: 'busy' });
  });
});

describe('fuzz: random templates from hostile pieces', () => {
  // growth and allocation a template can ask for, nested in loops, and mistakes
  const LEAVES = [
    (n: number) => `{% set ns.s = ns.s ~ ns.s ~ '${'z'.repeat(n % 50)}' %}`,
    () => '{% set ns.a = ns.a + ns.a %}',
    (n: number) => `{{ ns.s|indent(${n}) }}`,
    (n: number) => `{{ messages|tojson(indent=${n}) }}`,
    () => "{{ ns.a|join('-') }}",
    () => '{{ ns.s }}',
    (n: number) => `{% if ${n} > 3 %}x{% else %}y{% endif %}`,
    () => '{{ messages[0].content * 2 }}',
    () => "{{ raise_exception('no') }}",
    () => '{% for %}',
    () => '{{ (((1)) }}',
    () => '',
  ];
  const SIZES = [0, 3, 40, 1000, 100_000, 1_000_000_000];

  it('every render settles as text within the bound or as a failure of a known kind; the renderer keeps working', async () => {
    const maxChars = 2000;
    const r = new ChatRenderer({ budget: { maxSteps: 20_000, timeoutMs: 20_000, maxChars, maxItems: maxChars } });
    const random = mulberry32(20241206);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    // a leaf, or a loop (up to 3 deep) around a few pieces
    const piece = (depth: number): string => {
      if (depth >= 3 || random() < 0.5) return pick(LEAVES)(pick(SIZES));
      const body = Array.from({ length: 1 + Math.floor(random() * 3) }, () => piece(depth + 1)).join('');
      return `{% for i${depth} in range(${pick(SIZES)}) %}${body}{% endfor %}`;
    };
    const kinds = new Map<string, number>();
    try {
      for (let k = 0; k < 200; k++) {
        const t = "{% set ns = namespace(s='ab', a=[1, 2]) %}" + Array.from({ length: 1 + Math.floor(random() * 4) }, () => piece(0)).join('');
        let kind = 'ok';
        try {
          const text = await r.render(t, { messages: [{ role: 'user', content: 'hi' }] });
          expect(text.length).toBeLessThanOrEqual(maxChars);
        } catch (e) {
          expect(e, t).toBeInstanceOf(TemplateFailure);
          kind = (e as TemplateFailure).kind;
          expect(['syntax', 'render', 'steps', 'size'], t).toContain(kind);
        }
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      expect(await r.render('{{ 1 + 1 }}', {})).toBe('2');
    } finally {
      await r.close();
    }
    // the pieces reach every outcome
    expect([...kinds.keys()].sort()).toEqual(['ok', 'render', 'size', 'steps', 'syntax']);
  }, 120_000);
});
