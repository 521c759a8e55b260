// The demo reward models that ship inside the package (models/demo/): small PRM and ORM
// folders trained on the arithmetic task (prmkit/testing/arithmetic), so `prmkit serve`,
// `prmkit score`, `Prm.demo()` and the scoring page do something real before any large
// checkpoint is downloaded and converted. They know arithmetic chains and nothing else.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type DemoKind = 'prm' | 'orm';

/** The names the demo models are served and reported under. */
export const DEMO_NAMES: Readonly<Record<DemoKind, string>> = Object.freeze({ prm: 'arithmetic-demo-prm', orm: 'arithmetic-demo-orm' });

/** What the commands print (one stderr line) when they fall back to the demo PRM. */
export const DEMO_NOTE = 'no model given: using the built-in arithmetic demo PRM; for a real PRM see `prmkit convert`';

/**
 * The folder of a demo model. This file runs as lib/model/demo.ts (sources, tests) or
 * dist/model/demo.js (the package), both two folders below the package root, which holds
 * models/demo/.
 */
export function demoModelDir(kind: DemoKind): string {
  return fileURLToPath(new URL(`../../models/demo/${kind}`, import.meta.url));
}

/** True when the package holds this demo model (the ORM ships later than the PRM). */
export function hasDemoModel(kind: DemoKind): boolean {
  return existsSync(`${demoModelDir(kind)}/prmkit.json`);
}

/** The demo model's folder, or an Error saying it is missing from this installation. */
export function requireDemoModel(kind: DemoKind): string {
  const dir = demoModelDir(kind);
  if (!hasDemoModel(kind)) throw new Error(`the built-in demo ${kind.toUpperCase()} is missing from this installation (no ${dir}/prmkit.json); reinstall prmkit, or name a model`);
  return dir;
}
