// Typed command-line parsing on node:util parseArgs, with numbers checked and named.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: OptionSpec, allowPositionals = false): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intOption(values: Record<string, unknown>, name: string, min: number, dflt?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  if (n < min) throw new UsageError(`--${name} must be >= ${min}, got ${n}`);
  return n;
}

export function numberOption(values: Record<string, unknown>, name: string, check: (n: number) => boolean, range: string, dflt?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name} must be a number ${range}, got ${JSON.stringify(v)}`);
  return n;
}

export function stringOption(values: Record<string, unknown>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(values: Record<string, unknown>, name: string, command: string): string {
  const v = stringOption(values, name);
  if (v === undefined || v.length === 0) throw new UsageError(`${command} needs --${name}`);
  return v;
}
