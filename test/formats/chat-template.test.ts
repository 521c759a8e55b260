// A checkpoint's chat template is a program that the PRM formats run in process, once per
// chain encoded. Rendered under a step and size budget, a hostile one is a clear error naming
// tokenizer_config.json, never a stalled or dead process; an honest one renders exactly as
// the library's own renderer does.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeChains } from '../../lib/formats/encode.js';
import { tinyTokenizer, TINY_CHAT_TEMPLATE } from '../../lib/testing/index.js';
import { chatTemplateBudget, PrmTokenizer } from '../../lib/tokenize/tokenizer.js';
import type { ChatMessage } from '../../lib/tokenize/tokenizer.js';

const root = mkdtempSync(join(tmpdir(), 'prmkit-chat-template-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let folders = 0;
/** A tokenizer folder whose tokenizer_config.json carries `template`. */
function folderWith(template: string): { dir: string; config: string } {
  const dir = join(root, `tok-${folders++}`);
  mkdirSync(dir);
  const files = tinyTokenizer(4096);
  const config = join(dir, 'tokenizer_config.json');
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.json));
  writeFileSync(config, JSON.stringify({ ...files.config, chat_template: template }));
  return { dir, config };
}

const chat: ChatMessage[] = [
  { role: 'system', content: 'Reason step by step.' },
  { role: 'user', content: 'What is 2 + 2?' },
  { role: 'assistant', content: '2 + 2 = 4\n\nso the answer is 4' },
];

const { maxSteps, maxChars, maxItems } = chatTemplateBudget(chat);

/** Hostile templates: what each one does, and the bound (or failure) that stops it. */
const HOSTILE: Array<[string, string, RegExp]> = [
  ['a billion-step loop', '{% for i in range(60000) %}{% for j in range(60000) %}{% endfor %}{% endfor %}x', new RegExp(`took more than ${maxSteps} steps`)],
  ['a loop writing past the text limit', `{% for i in range(60000) %}${'x'.repeat(100)}{% endfor %}`, new RegExp(`a loop of the template wrote more than ${maxChars} characters`)],
  ['a string doubled 40 times', "{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", new RegExp(`limit is ${maxChars}`)],
  ['range(10^9)', '{% for i in range(1000000000) %}{{ i }}{% endfor %}', new RegExp(`range\\(\\) of 1000000000 items; the limit is ${maxItems}`)],
  ['a list doubled 40 times', '{% set ns = namespace(a=[1, 2]) %}{% for i in range(40) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|length }}', new RegExp(`list of \\d+ items; the limit is ${maxItems}`)],
  ["tojson's indent of 10^9", '{{ messages|tojson(indent=1000000000) }}', /asked for a text of 1000000000 characters/],
  ['an indent of 10^9', "{{ 'a\nb'|indent(1000000000) }}", /asked for a text of 1000000000 characters/],
  ['a join of 2^30 characters', "{% set ns = namespace(s='x', a=[]) %}{% for i in range(16) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{% set ns.a = [ns.s] %}{% for i in range(14) %}{% set ns.a = ns.a + ns.a %}{% endfor %}{{ ns.a|join('') }}", /asked for a text of \d+ characters/],
];

describe("a tokenizer's own chat template", () => {
  for (const [what, template, bound] of HOSTILE) {
    it(`stops ${what} with a RangeError naming tokenizer_config.json`, () => {
      const { dir, config } = folderWith(template);
      const tok = PrmTokenizer.load(dir);
      const err = (() => {
        try {
          tok.applyChatTemplate(chat);
        } catch (e) {
          return e as Error;
        }
        throw new Error('rendered');
      })();
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message.startsWith(`${config}: chat_template is over its render budget: `)).toBe(true);
      expect(err.message).toMatch(bound);
      // the allocation guards are put back once the render has ended
      expect('ab'.repeat(3)).toBe('ababab');
      expect(String.prototype.repeat.toString()).toMatch(/\[native code\]/);
      expect(Array.prototype.join.toString()).toMatch(/\[native code\]/);
    });
  }

  it('names the file when the template does not parse, fails or raises', () => {
    const cases: Array<[string, string]> = [
      ['{% for %}', 'the template does not parse: Unexpected token'],
      [`{{ ${'('.repeat(20000)}1${')'.repeat(20000)} }}`, 'the template does not parse: Maximum call stack size exceeded'],
      ['{{ no_such_function(1) }}', 'Cannot call something that is not a function'],
      ["{{ raise_exception('Conversation roles must alternate user/assistant') }}", 'Conversation roles must alternate user/assistant'],
    ];
    for (const [template, message] of cases) {
      const { dir, config } = folderWith(template);
      const tok = PrmTokenizer.load(dir);
      expect(() => tok.applyChatTemplate(chat)).toThrow(`${config}: chat_template: ${message}`);
      expect(() => tok.applyChatTemplate(chat)).not.toThrow(RangeError);
    }
  });

  it('stops a PRM format encoding a chain through it, before any chain is scored', () => {
    const { dir, config } = folderWith(HOSTILE[1]![1]);
    const items = [{ problem: 'What is 2 + 2?', steps: ['2 + 2 = 4', 'so the answer is 4'] }];
    expect(() => encodeChains(items, { format: 'qwen2.5-math-prm', tokenizer: dir })).toThrow(`${config}: chat_template is over its render budget`);
  });

  it('renders an honest template exactly as the library does', () => {
    const templates = [
      TINY_CHAT_TEMPLATE,
      // loops, loop variables, namespaces, filters, tests, slicing, macros, range, raise guards
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% if m.role == 'system' %}[{{ m.content|trim }}]{% elif loop.last %}{{ loop.index }}/{{ loop.length }}:{{ m.content|upper }}{% else %}{{ m.role[:3] }}={{ m.content|length }}{% endif %}{% set ns.n = ns.n + 1 %}{% endfor %}|{{ ns.n }}|{{ range(3)|join(',') }}|{{ messages|map(attribute='role')|join(' ') }}",
      "{% macro turn(m) %}<{{ m.role }}>{{ m.content|indent(2) }}</{{ m.role }}>{% endmacro %}{% for m in messages %}{{ turn(m) }}{% endfor %}{{ messages[0]|tojson }}{% if add_generation_prompt %}<assistant>{% endif %}",
    ];
    for (const template of templates) {
      const tok = PrmTokenizer.load(folderWith(template).dir);
      for (const addGenerationPrompt of [false, true]) {
        const expected = new Template(template).render({ messages: chat, add_generation_prompt: addGenerationPrompt, bos_token: '', eos_token: '<|im_end|>' });
        expect(tok.applyChatTemplate(chat, { addGenerationPrompt })).toBe(expected);
      }
    }
  });
});
