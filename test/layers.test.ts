// The layering of lib/ (ARCHITECTURE.md, "Layers"): every import of a file under lib/ stays in
// its own folder or goes to a folder of a lower layer, and no files import each other in a
// loop, type-only imports included (what two files share lives in a third below both). The
// table here is the one in the document; a new top-level folder or file takes its place in both.
import { readFileSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cycles, fileGraph, importsOf, sources } from './helpers/imports.js';
import { repoRoot } from './helpers/paths.js';

const LAYERS: readonly (readonly string[])[] = [
  ['interfaces.ts', 'errors.ts'],
  ['is.ts'],
  ['random.ts', 'kernels/', 'batch/', 'tokenize/'],
  ['formats/', 'search/'],
  ['model/', 'rewards/'],
  ['backbones/', 'convert/'],
  ['prm/', 'testing/'],
  ['orm/', 'eval/'],
  ['train/', 'server/'],
  ['cli/', 'index.ts'],
];

const lib = join(repoRoot, 'lib');

/** The folder (`prm/`) or root file (`is.ts`) a path under lib/ belongs to. */
function unitOf(path: string): string {
  const parts = relative(lib, path).split(sep);
  return parts.length > 1 ? `${parts[0]}/` : parts[0]!.replace(/\.js$/, '.ts');
}

const layerOf = new Map(LAYERS.flatMap((units, i) => units.map((u) => [u, i] as const)));

describe('the layers of lib/', () => {
  it('reads the imports it checks', () => {
    expect(importsOf("import { a } from './a.js';\nexport type { B } from '../b.js';\nimport '../c.js';\nconst d = await import('./d.js');"))
      .toEqual(['./a.js', '../b.js', '../c.js', './d.js']);
    expect(importsOf("import {\n  a,\n  b,\n} from '../a.js';\nimport x from 'node:fs';")).toEqual(['../a.js']);
  });

  it('places every folder and root file in a layer', () => {
    const units = new Set(sources(lib).map(unitOf));
    const unplaced = [...units].filter((u) => !layerOf.has(u));
    expect(unplaced, 'give each a layer in ARCHITECTURE.md ("Layers") and in this test').toEqual([]);
  });

  it('imports only within a folder or from a lower layer', () => {
    const upward: string[] = [];
    for (const file of sources(lib)) {
      const from = unitOf(file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(lib + sep)) continue;
        const to = unitOf(target);
        if (to === from) continue;
        if (!(layerOf.get(to)! < layerOf.get(from)!)) upward.push(`${relative(repoRoot, file)} -> ${relative(repoRoot, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('finds an import cycle when there is one', () => {
    const [a, b, c] = ['a.ts', 'b.ts', 'c.ts'].map((f) => join(lib, f));
    expect(cycles(new Map([[a, [b]], [b, [c]], [c, [a]]]), lib)).toEqual(['a.ts -> b.ts -> c.ts -> a.ts']);
    expect(cycles(new Map([[a, [b, c]], [b, [c]], [c, []]]), lib)).toEqual([]);
  });

  it('has no import cycle among its files, within a folder or across', () => {
    const g = fileGraph(lib);
    expect(g.size).toBeGreaterThan(200);
    // type-only imports are edges too: `import type` from session.ts back into prm.ts was one
    expect([...g.values()].flat().length).toBeGreaterThan(500);
    expect(cycles(g, lib)).toEqual([]);
  });
});
