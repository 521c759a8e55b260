// The import graph of lib/ as the tests read it: source files, and the relative modules each
// one imports (static imports, re-exports, import() with a literal).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Every .ts/.mjs/.js file under `dir`. */
export function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mjs|js)$/.test(e.name) ? [p] : [];
  });
}

/** The relative specifiers a file imports: static imports, re-exports, import() with a literal. */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) if (m[1]!.startsWith('.')) out.push(m[1]!);
  return out;
}

/** Each file under `dir` → the files under `dir` it imports (a `.js` specifier names its `.ts` source). */
export function fileGraph(dir: string): Map<string, string[]> {
  const files = new Set(sources(dir));
  const g = new Map<string, string[]>();
  for (const file of files) {
    const deps = importsOf(readFileSync(file, 'utf8'))
      .map((s) => resolve(dirname(file), s))
      .map((t) => (files.has(t) ? t : t.replace(/\.js$/, '.ts')))
      .filter((t) => files.has(t));
    g.set(file, deps);
  }
  return g;
}

/** One cycle per strongly tied group, as a path `a -> b -> a` relative to `base`, found by depth-first search. */
export function cycles(g: Map<string, string[]>, base: string): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of g.get(n) ?? []) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m].map((f) => relative(base, f)).join(' -> '));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of g.keys()) if (!state.has(n)) visit(n);
  return found;
}
