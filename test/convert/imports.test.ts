// The converter's files import each other without a cycle: what two files share (the
// attention contract, the head plan) lives below both, so the folder reads from the top
// (convert.ts) down to its parts.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, sources } from '../helpers/imports.js';
import { repoRoot } from '../helpers/paths.js';

const dir = join(repoRoot, 'lib', 'convert');

/** Each file of lib/convert → the files of lib/convert it imports (by .ts name). */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const file of sources(dir)) {
    const deps = importsOf(readFileSync(file, 'utf8'))
      .map((s) => resolve(dirname(file), s).replace(/\.js$/, '.ts'))
      .filter((t) => dirname(t) === dir);
    g.set(file, deps);
  }
  return g;
}

/** One cycle per strongly tied group, as a path `a -> b -> a`, found by depth-first search. */
function cycles(g: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of g.get(n) ?? []) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m].map((f) => relative(dir, f)).join(' -> '));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of g.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe('lib/convert imports', () => {
  it('finds a cycle when there is one', () => {
    const a = join(dir, 'a.ts');
    const b = join(dir, 'b.ts');
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toEqual(['a.ts -> b.ts -> a.ts']);
  });

  it('has no import cycle among its files', () => {
    const g = graph();
    expect(g.size).toBeGreaterThan(10);
    expect(cycles(g)).toEqual([]);
  });
});
