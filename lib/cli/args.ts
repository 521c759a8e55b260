// Typed command-line parsing on node:util parseArgs. Values arrive as strings; each reader
// turns one into a number or a name and checks it with the library's own vocabulary
// (lib/is.ts), so `--workers 0` and `workers: 0` are refused with the same words.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import * as is from '../is.js';
import type { Aggregation } from '../kernels/types.js';
import { UsageError } from './io.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** Flags every command takes. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
} as const satisfies OptionSpec;

export function parse(argv: string[], options: OptionSpec, allowPositionals = false): { values: Values; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Runs a lib/is.ts check; its TypeError/RangeError is the user's command line. */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(err.message);
    throw err;
  }
}

export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(values: Values, name: string, command: string): string {
  const v = stringOption(values, name);
  if (v === undefined || v.length === 0) throw new UsageError(`${command} needs --${name}`);
  return v;
}

/** A numeric literal as a number; anything else stays a string so the message shows it as typed. */
function numeric(v: string): number | string {
  const t = v.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : v;
}

export function intOption(values: Values, name: string, min: number, dflt?: number, max?: number): number | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return dflt;
  return asUsage(() => is.integer(numeric(v), `--${name}`, min, max));
}

export function numberOption(values: Values, name: string, min: number, max: number, open: { openMin?: boolean; openMax?: boolean } = {}, dflt?: number): number | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return dflt;
  return asUsage(() => is.number(numeric(v), `--${name}`, min, max, open));
}

export function oneOfOption<T extends string>(values: Values, name: string, allowed: readonly T[]): T | undefined {
  const v = stringOption(values, name);
  return v === undefined ? undefined : asUsage(() => is.oneOf(v, `--${name}`, allowed));
}

export function aggregateOption(values: Values, name = 'aggregate'): Aggregation | undefined {
  const v = stringOption(values, name);
  return v === undefined ? undefined : asUsage(() => is.aggregation(v, `--${name}`));
}

/** A probability threshold, checked in the precision the kernels compare in. */
export function thresholdOption(values: Values, name: string, dflt?: number): number | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return dflt;
  return asUsage(() => is.threshold(numeric(v), `--${name}`));
}

export function listOption(values: Values, name: string): string[] | undefined {
  const v = stringOption(values, name);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** `--progress` / `--no-progress`; by default only when stderr is a terminal. */
export function progressWanted(values: Values, stderr: { isTTY?: boolean }): boolean {
  if (values['progress'] && values['no-progress']) throw new UsageError('--progress and --no-progress contradict each other');
  return values['progress'] === true || (values['no-progress'] !== true && stderr.isTTY === true);
}

export const PROGRESS_OPTIONS = {
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
} as const satisfies OptionSpec;
