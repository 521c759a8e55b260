// A format described by data: a separator (text found again by token id, or an id appended
// between separately tokenized pieces), a Jinja template for the text and a head convention.
import { Template } from '@huggingface/jinja';
import { PrmInputError } from '../errors.js';
import { aggregation, boolean, integer, invalidType, isObject, keysOf, knownKeys, object, oneOf, string } from '../is.js';
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { findBoundaries, lastTokenId, rejectInChain, rejectInSteps } from './errors.js';
import type { CustomFormat, EncodedChain, FormatHead, PrmFormat } from './types.js';

export const DEFAULT_CUSTOM_TEMPLATE = '{{ problem }}\n{% for s in steps %}{{ s }}{{ separator }}{% endfor %}';
// Private-use code point: marks where an id separator goes in the rendered text.
const MARK = '\uE000';

const HEAD_KEYS = keysOf<FormatHead>()({ activation: true, positive: true, outputs: true, labels: true, vocabulary: true });
const FORMAT_KEYS = keysOf<CustomFormat>()({ kind: true, name: true, separator: true, template: true, head: true, aggregation: true, addSpecialTokens: true });

export function checkFormatHead(h: unknown, where: string): FormatHead {
  const head = object(h, where, 'an object { activation, positive, outputs, labels? }');
  knownKeys(head, HEAD_KEYS, where);
  const activation = oneOf(head.activation, `${where}.activation`, ['sigmoid', 'softmax'] as const);
  const labels = head.labels;
  if (labels !== undefined && (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || l.length === 0)))
    throw invalidType(`${where}.labels`, 'an array of non-empty token texts', labels);
  const K = Array.isArray(labels) ? labels.length : integer(head.outputs, `${where}.outputs`, 1);
  if (K < 1) throw invalidType(`${where}.labels`, 'an array of non-empty token texts', labels);
  if (activation === 'sigmoid' && K !== 1) throw new RangeError(`${where}: a sigmoid head has exactly 1 output, got ${K}`);
  const positive = integer(head.positive, `${where}.positive`, 0, K - 1);
  const vocabulary = head.vocabulary === undefined ? false : boolean(head.vocabulary, `${where}.vocabulary`);
  if (vocabulary && (!Array.isArray(labels) || activation !== 'softmax'))
    throw new TypeError(`${where}.vocabulary reads P(labels[positive]) by a softmax over the whole vocabulary: it needs labels and activation 'softmax'`);
  return { activation, positive, outputs: K, ...(Array.isArray(labels) ? { labels: [...(labels as string[])] } : {}), ...(vocabulary ? { vocabulary } : {}) };
}

export function customFormat(spec: CustomFormat): PrmFormat {
  if (!isObject(spec) || spec.kind !== 'custom') throw invalidType('format', "an object with kind: 'custom'", spec);
  knownKeys(spec as unknown as Record<string, unknown>, FORMAT_KEYS, 'format');
  const sep = object(spec.separator, 'format.separator', '{ text } or { id }');
  const byText = sep.text !== undefined;
  if (byText) string(sep.text, 'format.separator.text', { nonEmpty: true });
  else integer(sep.id, 'format.separator.id', 0);
  const head = checkFormatHead(spec.head, 'format.head');
  const how = aggregation(spec.aggregation ?? 'prod', 'format.aggregation');
  if (spec.template !== undefined) string(spec.template, 'format.template');
  const template = new Template(spec.template ?? DEFAULT_CUSTOM_TEMPLATE);
  const addSpecial = spec.addSpecialTokens === undefined ? true : boolean(spec.addSpecialTokens, 'format.addSpecialTokens');
  const name = spec.name === undefined ? 'custom' : string(spec.name, 'format.name', { nonEmpty: true });
  const sepText = byText ? (sep.text as string) : `<id ${sep.id as number}>`;

  const render = (item: ChainItem, tok: PrmTokenizer, separator: string) =>
    template.render({ problem: item.problem, steps: item.steps, separator, bos_token: tok.bosToken ?? '', eos_token: tok.eosToken ?? '' });

  return {
    name,
    separator: sepText,
    ...(byText ? { stepMark: sep.text as string } : {}),
    head,
    aggregation: how,
    encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
      if (byText) {
        const text = sep.text as string;
        const id = lastTokenId(tok, text, `${name} separator`);
        rejectInSteps(item.steps, [text.trim() || text], index, name);
        const ids = tok.encode(render(item, tok, text), addSpecial);
        return { ids, positions: findBoundaries(ids, id, item.steps, index, name, text) };
      }
      rejectInChain(item, [MARK], index, name);
      const pieces = render(item, tok, MARK).split(MARK);
      if (pieces.length - 1 !== item.steps.length)
        throw new PrmInputError(`items[${index}]`, `gets ${pieces.length - 1} separators from the ${name} template for ${item.steps.length} steps`);
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
