// The import graph of lib/ as the tests read it: source files, and the relative modules each
// one imports (static imports, re-exports, import() with a literal).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

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
