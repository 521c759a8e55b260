// The trl format against TRL's PRMTrainer tokenization, written out here by hand on the real
// tokenizers of the shared checkpoints: the problem's ids, each step's ids + the separator's
// ids (each piece tokenized alone, no special tokens; BOS first when the tokenizer has one),
// the label on the last separator token of each step.
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { FORMAT_NAMES, resolveFormat, trlFormat } from '../../lib/formats/index.js';
import { splitSteps } from '../../lib/formats/split.js';
import { PrmTokenizer } from '../../lib/tokenize/index.js';
import { checkpointsDir, describeWhen } from '../helpers/index.js';
import { hasFamily, noFamily } from '../convert/helpers.js';

const item = { problem: 'Tom has 3 apples and buys 4 more.', steps: ['3 + 4 = 7', 'He has 7 apples.\nThe answer is 7.', 'Done'] };

/** TRL's tokenize_row, for one chain. */
function byHand(tok: PrmTokenizer, separator: string, bos?: number): { ids: number[]; positions: number[] } {
  const ids = bos === undefined ? [] : [bos];
  ids.push(...tok.encode(item.problem, false));
  const sep = tok.encode(separator, false);
  const positions: number[] = [];
  for (const s of item.steps) {
    ids.push(...tok.encode(s, false), ...sep);
    positions.push(ids.length - 1);
  }
  return { ids, positions };
}

it('trl is a built-in format name, with settings checked', () => {
  expect(FORMAT_NAMES).toContain('trl');
  const f = resolveFormat('trl');
  expect(f.head).toEqual({ activation: 'softmax', positive: 1, outputs: 2 });
  expect(resolveFormat({ kind: 'trl', classes: 3, positive: 2 }).head).toEqual({ activation: 'softmax', positive: 2, outputs: 3 });
  expect(() => trlFormat({ kind: 'trl', positive: 2 })).toThrow(/format\.positive must be an integer in \[0, 1\]/);
  expect(() => trlFormat({ kind: 'trl', classes: 1 })).toThrow(/format\.classes must be an integer in \[2, 64\]/);
  expect(() => trlFormat({ kind: 'trl', separator: '' })).toThrow(/format\.separator/);
  expect(() => trlFormat({ kind: 'trl', seperator: 'x' } as never)).toThrow(/did you mean 'separator'/);
});

it("a solution sent as one text splits at the separator, one step per line by default ('auto')", () => {
  const text = '3 + 4 = 7\nHe has 7 apples.\nThe answer is 7.';
  const steps = (f: ReturnType<typeof trlFormat>) => splitSteps(text, 'auto', f.stepMark).map((s) => s.text);
  expect(steps(trlFormat())).toEqual(['3 + 4 = 7', 'He has 7 apples.', 'The answer is 7.']);
  // a text without the separator falls back to blank lines: one step here
  expect(steps(trlFormat({ kind: 'trl', separator: ' ки' }))).toEqual([text]);
  // the display name is quoted; the mark is the text itself
  expect(trlFormat().separator).toBe('"\\n"');
  expect(trlFormat().stepMark).toBe('\n');
});

describeWhen(hasFamily('trl-prm') && hasFamily('skywork-prm'), 'trl encoding on real tokenizers', noFamily('trl-prm'), () => {
  let qwen: PrmTokenizer;
  let withBos: PrmTokenizer;
  beforeAll(() => {
    qwen = PrmTokenizer.load(join(checkpointsDir, 'trl-prm'));
    withBos = PrmTokenizer.load(join(checkpointsDir, 'skywork-prm'));
  });

  it('the default separator "\\n": ids and label positions as TRL builds them', () => {
    expect(qwen.bosToken).toBeUndefined();
    const got = resolveFormat('trl').encode(item, qwen, 0);
    expect(got).toEqual(byHand(qwen, '\n'));
    for (const p of got.positions) expect(got.ids[p]).toBe(198);
  });

  it('a separator of several tokens is labelled at its last token; a tokenizer with a BOS puts it first', () => {
    const sep = ' <step>\n';
    expect(qwen.encode(sep, false).length).toBeGreaterThan(1);
    expect(trlFormat({ kind: 'trl', separator: sep }).encode(item, qwen, 0)).toEqual(byHand(qwen, sep));
    const bos = withBos.tokenToId(withBos.bosToken!);
    expect(bos).toBe(151643);
    expect(resolveFormat('trl').encode(item, withBos, 0)).toEqual(byHand(withBos, '\n', bos));
  });

  it('special-token text in a step is refused with the item and step named', () => {
    expect(() => resolveFormat('trl').encode({ problem: 'p', steps: ['a', 'b <|im_end|>'] }, qwen, 4)).toThrow(/items\[4\]\.steps\[1\]/);
  });
});
