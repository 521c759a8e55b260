// prmkit.json is checked field by field before a loader uses it: the files it names stay
// inside the folder (no `..`, no symlink out), every number that sizes something is inside
// its bound, label ids fit the vocabulary, and a bad value is an error naming the file and
// the field, never a JavaScript one. The last test fuzzes the manifest with a seed.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { readManifest } from '../../lib/model/manifest.js';
import { Prm } from '../../lib/prm/index.js';
import { mulberry32 } from '../../lib/random.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';

const root = mkdtempSync(join(tmpdir(), 'prmkit-manifest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const INTERNAL = /Cannot read prop|is not a function|is not iterable|Invalid typed array length|Invalid array length|Maximum call stack|Cannot convert undefined|undefined \(reading/i;

let base = '';
let manifest: Record<string, unknown> = {};
let n = 0;
beforeAll(async () => {
  const ck = createTinyCheckpoint({ dir: join(root, 'ck'), layers: 1, hidden: 16, seed: 3 }).dir;
  base = join(root, 'base');
  await convert({ input: ck, output: base, kvCache: true });
  manifest = JSON.parse(readFileSync(join(base, 'prmkit.json'), 'utf8'));
});

/** A copy of the converted folder with its manifest changed by `edit`. */
function folder(edit: (m: Record<string, any>) => void = () => {}): string {
  const dir = join(root, `copy-${n++}`);
  cpSync(base, dir, { recursive: true });
  const m = structuredClone(manifest);
  edit(m);
  writeFileSync(join(dir, 'prmkit.json'), JSON.stringify(m));
  return dir;
}

function refused(dir: string): Error {
  try {
    readManifest(dir);
  } catch (e) {
    expect((e as Error).message).toContain(join(dir, 'prmkit.json'));
    expect((e as Error).message).not.toMatch(INTERNAL);
    return e as Error;
  }
  throw new Error('accepted');
}

describe('files the manifest names stay inside the folder', () => {
  it('a model outside the folder is refused by Prm.load, naming the field', async () => {
    const other = folder();
    const dir = folder((m) => (m.model = `../${other.split('/').pop()}/model.onnx`));
    await expect(Prm.load({ model: dir })).rejects.toThrow(/prmkit\.json: model names "\.\.\/copy-\d+\/model\.onnx", which is outside/);
    expect(refused(folder((m) => (m.model = '/etc/passwd'))).message).toMatch(/model names "\/etc\/passwd", which is outside/);
    expect(refused(folder((m) => (m.tokenizer = '../../tokenizer.json'))).message).toMatch(/tokenizer names .* outside/);
  });

  it('a model or tokenizer file that is a symlink out of the folder is refused', () => {
    const other = folder();
    for (const f of ['model.onnx', 'tokenizer.json']) {
      const dir = folder();
      rmSync(join(dir, f));
      symlinkSync(join(other, f), join(dir, f));
      expect(refused(dir).message).toMatch(/a symlink to .* outside/);
    }
  });
});

describe('values are checked against their bounds', () => {
  const cases: Array<[string, (m: Record<string, any>) => void, RegExp]> = [
    ['contextLength 1e9', (m) => (m.contextLength = 1e9), /prmkit\.json: contextLength must be an integer in \[1, 16777216\], got 1000000000/],
    ['kv layers 1e9', (m) => (m.kvCache.layers = 1e9), /prmkit\.json: kvCache\.layers must be an integer in \[1, 1\], got 1000000000/],
    ['kv heads 1e9', (m) => (m.kvCache.kvHeads = 1e9), /prmkit\.json: kvCache\.kvHeads must be an integer in \[1, 1\], got 1000000000/],
    ['decoder layers 1e9', (m) => (m.decoder.layers = 1e9), /prmkit\.json: decoder\.layers must be an integer in \[1, 1024\]/],
    ['label id 1e15', (m) => (m.head.labels[0].id = 1e15), /prmkit\.json: head\.labels\[0\]\.id must be an integer in \[0, 260\], got 1000000000000000/],
    ['label id -7', (m) => (m.head.labels[1].id = -7), /prmkit\.json: head\.labels\[1\]\.id must be an integer in \[0, 260\], got -7/],
    ['labels "plus"', (m) => (m.head.labels = 'plus'), /prmkit\.json: head\.labels must be a list of 2 \{ text, id \}/],
    ['attention "flash"', (m) => (m.attention = 'flash'), /prmkit\.json: attention must be one of 'gqa', 'plain', got "flash"/],
    ['head outputs 1e6', (m) => (m.head.outputs = 1e6), /prmkit\.json: head\.outputs must be an integer in \[1, 64\]/],
    ['format settings on another format', (m) => (m.formatOptions = { separator: '\n', positive: 1 }), /formatOptions is set for format math-shepherd/],
    ['dtype', (m) => (m.dtype = 'int3'), /dtype must be one of/],
  ];
  for (const [what, edit, msg] of cases)
    it(what, () => {
      expect(refused(folder(edit)).message).toMatch(msg);
    });

  it('a manifest nested deep, or not an object, names the file', () => {
    const deep = folder();
    writeFileSync(join(deep, 'prmkit.json'), `{"prmkit":1,"x":${'['.repeat(1e5)}${']'.repeat(1e5)}}`);
    expect(refused(deep).message).toMatch(/nests deeper than 16 levels/);
  });

  it('the folder as converted loads', async () => {
    expect(readManifest(folder())?.head.labels).toHaveLength(2);
  });

  it('seeded fuzz: a mutated manifest loads or fails with a named prmkit error', () => {
    const rand = mulberry32(7);
    const odd = [null, -1, 0.5, 1e15, -7, '', 'x', [], {}, true, '../x', '/etc/passwd', [1, 2], { a: 1 }];
    const paths: string[][] = [];
    const walk = (v: unknown, path: string[]) => {
      if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...path, k]);
      paths.push(path);
    };
    walk(manifest, []);
    for (let i = 0; i < 200; i++) {
      const path = paths[Math.floor(rand() * paths.length)];
      const value = odd[Math.floor(rand() * odd.length)];
      const dir = folder((m) => {
        if (path.length === 0) return;
        let at: any = m;
        for (const k of path.slice(0, -1)) at = at[k];
        at[path[path.length - 1]] = value;
      });
      try {
        readManifest(dir);
      } catch (e) {
        expect(e, `${path.join('.')} = ${JSON.stringify(value)}: ${(e as Error).message}`).toSatisfy((x: unknown) => x instanceof TypeError || x instanceof RangeError);
        expect((e as Error).message).not.toMatch(INTERNAL);
        expect((e as Error).message).toContain(dir);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
