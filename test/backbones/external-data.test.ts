// A model.onnx whose initializers name their external data outside the model's folder
// ("../x", an absolute path, a symlink leading out) is refused before onnxruntime opens it,
// with or without the private snapshot, and the outside file is never used: it holds the
// model's real weights, so a load that read it would succeed.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { externalDataFiles } from '../../lib/model/onnx-initializer.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');
const root = mkdtempSync(join(tmpdir(), 'prmkit-external-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let base = '';
beforeAll(async () => {
  const ck = createTinyCheckpoint({ dir: join(root, 'ck'), layers: 1, hidden: 32, seed: 4 }).dir;
  base = join(root, 'base');
  await convert({ input: ck, output: base });
});

/**
 * A converted folder whose model.onnx has every external data location renamed to `location`
 * (its manifest still names model.onnx.data, as a folder altered by hand would).
 */
function hostile(name: string, location: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  const m = onnx.ModelProto.decode(readFileSync(join(base, 'model.onnx')));
  for (const t of m.graph!.initializer!) for (const e of t.externalData ?? []) if (e.key === 'location') e.value = location;
  writeFileSync(join(dir, 'model.onnx'), onnx.ModelProto.encode(m).finish());
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'prmkit.json']) copyFileSync(join(base, f), join(dir, f));
  return dir;
}

const load = (dir: string, snapshot: boolean) => Prm.load({ model: dir, snapshot, workers: { threads: 1 } });

describe('external data outside the model folder', () => {
  it('the construction is sound: the same weights under a name inside the folder load and score', async () => {
    const dir = hostile('inside', 'weights.bin');
    copyFileSync(join(base, 'model.onnx.data'), join(dir, 'weights.bin'));
    expect(externalDataFiles(join(dir, 'model.onnx'))).toEqual(['weights.bin']);
    for (const snapshot of [true, false]) {
      const prm = await load(dir, snapshot);
      expect((await prm.score([{ problem: 'What is 1+1?', steps: ['1+1 = 2'] }]))[0]!.stepProbs).toHaveLength(1);
      await prm.close();
    }
  });

  for (const [name, where] of [['parent', () => '../outside.bin'], ['absolute', () => join(root, 'outside.bin')]] as const) {
    it(`a ${name} location is refused, snapshot or not, and the file is not used`, async () => {
      copyFileSync(join(base, 'model.onnx.data'), join(root, 'outside.bin'));
      const location = where();
      const dir = hostile(name, location);
      for (const snapshot of [true, false]) {
        const err = await load(dir, snapshot).then(async (p) => (await p.close(), undefined), (e: unknown) => e);
        expect(err, `snapshot ${snapshot}`).toBeInstanceOf(TypeError);
        expect((err as Error).message).toBe(`model: ${join(dir, 'model.onnx')} external data location names ${JSON.stringify(location)}, which is outside ${dir}; a model folder's files must be inside it`);
      }
    });
  }

  it('a data file inside the folder that is a symlink leading out is refused', async () => {
    const dir = hostile('symlink', 'weights.bin');
    renameSync(join(root, 'outside.bin'), join(root, 'elsewhere.bin'));
    symlinkSync(join(root, 'elsewhere.bin'), join(dir, 'weights.bin'));
    for (const snapshot of [true, false])
      await expect(load(dir, snapshot)).rejects.toThrow(/external data location names "weights\.bin", a symlink to .*elsewhere\.bin, outside .*; refusing to read through it/);
  });
});
