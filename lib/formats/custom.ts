// A format described by data: a separator (text found again by token id, or an id appended
// between separately tokenized pieces), a Jinja template for the text and a head convention.
import { Template } from '@huggingface/jinja';
import { AGGREGATIONS } from '../kernels/types.js';
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { findBoundaries, lastTokenId, rejectInSteps, SeparatorInStepError } from './errors.js';
import type { CustomFormat, EncodedChain, FormatHead, PrmFormat } from './types.js';

export const DEFAULT_CUSTOM_TEMPLATE = '{{ problem }}\n{% for s in steps %}{{ s }}{{ separator }}{% endfor %}';
// Private-use code point: marks where an id separator goes in the rendered text.
const MARK = '\uE000';

export function checkFormatHead(h: unknown, where: string): FormatHead {
  if (h === null || typeof h !== 'object') throw new TypeError(`${where} must be an object { activation, positive, outputs, labels? }`);
  const head = h as FormatHead;
  if (head.activation !== 'sigmoid' && head.activation !== 'softmax')
    throw new TypeError(`${where}.activation must be 'sigmoid' or 'softmax', got ${String(head.activation)}`);
  if (head.labels !== undefined && (!Array.isArray(head.labels) || head.labels.some((l) => typeof l !== 'string' || l.length === 0)))
    throw new TypeError(`${where}.labels must be an array of non-empty token texts`);
  const K = head.labels ? head.labels.length : head.outputs;
  if (!Number.isInteger(K) || K < 1) throw new RangeError(`${where}.outputs must be a positive integer, got ${String(head.outputs)}`);
  if (head.activation === 'sigmoid' && K !== 1) throw new RangeError(`${where}: a sigmoid head has exactly 1 output, got ${K}`);
  if (!Number.isInteger(head.positive) || head.positive < 0 || head.positive >= K)
    throw new RangeError(`${where}.positive must be an integer in [0, ${K}), got ${String(head.positive)}`);
  return { activation: head.activation, positive: head.positive, outputs: K, ...(head.labels ? { labels: [...head.labels] } : {}) };
}

export function customFormat(spec: CustomFormat): PrmFormat {
  if (spec === null || typeof spec !== 'object' || spec.kind !== 'custom') throw new TypeError("a custom format must be an object with kind: 'custom'");
  const sep = spec.separator as { text?: unknown; id?: unknown } | undefined;
  if (!sep || typeof sep !== 'object') throw new TypeError('format.separator must be { text } or { id }');
  const byText = typeof sep.text === 'string';
  if (byText && (sep.text as string).length === 0) throw new RangeError('format.separator.text must not be empty');
  if (!byText && (!Number.isInteger(sep.id) || (sep.id as number) < 0))
    throw new TypeError('format.separator must be { text: non-empty string } or { id: non-negative integer }');
  const head = checkFormatHead(spec.head, 'format.head');
  const aggregation = spec.aggregation ?? 'prod';
  if (!AGGREGATIONS.includes(aggregation)) throw new RangeError(`format.aggregation must be one of ${AGGREGATIONS.join(', ')}`);
  if (spec.template !== undefined && typeof spec.template !== 'string') throw new TypeError('format.template must be a Jinja template string');
  const template = new Template(spec.template ?? DEFAULT_CUSTOM_TEMPLATE);
  const addSpecial = spec.addSpecialTokens ?? true;
  const name = spec.name ?? 'custom';
  const sepText = byText ? (sep.text as string) : `<id ${sep.id as number}>`;

  const render = (item: ChainItem, tok: PrmTokenizer, separator: string) =>
    template.render({ problem: item.problem, steps: item.steps, separator, bos_token: tok.bosToken ?? '', eos_token: tok.eosToken ?? '' });

  return {
    name,
    separator: sepText,
    head,
    aggregation,
    encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
      if (byText) {
        const text = sep.text as string;
        const id = lastTokenId(tok, text, `${name} separator`);
        rejectInSteps(item.steps, [text.trim() || text], index, name);
        const ids = tok.encode(render(item, tok, text), addSpecial);
        return { ids, positions: findBoundaries(ids, id, item.steps, index, name, text) };
      }
      rejectInSteps(item.steps, [MARK], index, name);
      if (item.problem.includes(MARK)) throw new SeparatorInStepError(index, -1, MARK, name);
      const pieces = render(item, tok, MARK).split(MARK);
      if (pieces.length - 1 !== item.steps.length)
        throw new RangeError(`items[${index}]: the ${name} template placed ${pieces.length - 1} separators for ${item.steps.length} steps`);
      const ids: number[] = [];
      const positions: number[] = [];
      pieces.forEach((p, k) => {
        // only the first piece gets the tokenizer's special tokens (BOS)
        if (p.length > 0) for (const t of tok.encode(p, addSpecial && k === 0)) ids.push(t);
        if (k < pieces.length - 1) {
          positions.push(ids.length);
          ids.push(sep.id as number);
        }
      });
      return { ids, positions };
    },
  };
}
