// Chains from JSONL input, named by input line. Ids are strings: a number id is its decimal
// text (1 and "1" are the same chain), a line without one is `line-N`; two lines with the same
// id are an error naming both, since an output keyed by id could keep only one of them. An
// error the model raises for `items[k]` of a batch is mapped back to the line that chain came from.
import type { ChainItem } from '../interfaces.js';
import type { OrmItem } from '../orm/encode.js';
import { checkItemShape } from '../formats/errors.js';
import { isInputError } from '../errors.js';
import { show } from '../is.js';
import { CliError } from './io.js';

export interface InputChain {
  /** 1-based line number in the input. */
  line: number;
  id: string;
  /** A chain of steps, or (where the model is an ORM) a whole solution text. */
  item: ChainItem | OrmItem;
}

/** A bad input line: skippable with --skip-invalid. */
export class InputLineError extends CliError {
  constructor(
    readonly line: number,
    detail: string,
  ) {
    super(`input line ${line}: ${detail}`);
    this.name = 'InputLineError';
  }
}

/**
 * Which of `count` items an input error blames, and what it says past the path:
 * `items[5].steps[1] contains ...` → { index: 5, field: 'steps[1]', detail: 'contains ...' }.
 */
export function inputErrorAt(err: unknown, count: number): { index: number; field: string; detail: string } | undefined {
  if (!isInputError(err)) return undefined;
  const k = err.itemIndex;
  if (k === undefined || k < 0 || k >= count) return undefined;
  const rest = err.path.slice(`items[${k}]`.length);
  return { index: k, field: rest.startsWith('.') ? rest.slice(1) : rest, detail: err.message.slice(err.path.length).trimStart() };
}

/**
 * An input error about `items[k]` of a batch as an error about the line that chain came
 * from: in a batch whose sixth chain is line 70, `items[5].steps[1] contains ...` reads
 * `input line 70: steps[1] contains ...`.
 */
export function lineError(err: unknown, chains: readonly InputChain[]): InputLineError | undefined {
  const at = inputErrorAt(err, chains.length);
  return at && new InputLineError(chains[at.index]!.line, at.field ? `${at.field} ${at.detail}` : at.detail);
}

function idOf(raw: unknown, line: number): string {
  if (raw === undefined || raw === null) return `line-${line}`;
  if (typeof raw === 'string') {
    if (raw.length === 0) throw new InputLineError(line, 'id must be a non-empty string or a number, got "" (string)');
    return raw;
  }
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  throw new InputLineError(line, `id must be a non-empty string or a number, got ${show(raw)}`);
}

/**
 * Parses and checks one line (its shape, as the model would check it). With `solutions`
 * (an outcome reward model reads the input) a line may give `solution`, one text, instead of steps.
 */
export function parseChainLine(text: string, line: number, { solutions = false } = {}): InputChain {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new InputLineError(line, `not valid JSON (${(err as Error).message})`);
  }
  const solution = solutions && obj !== null && typeof obj === 'object' && (obj as { steps?: unknown }).steps === undefined ? (obj as { solution?: unknown }).solution : undefined;
  if (solution !== undefined) {
    const o = obj as Record<string, unknown>;
    if (typeof o['problem'] !== 'string') throw new InputLineError(line, `problem must be a string, got ${show(o['problem'])}`);
    if (typeof solution !== 'string') throw new InputLineError(line, `solution must be a string, got ${show(solution)}`);
    const id = idOf(o['id'], line);
    return { line, id, item: { problem: o['problem'], solution, id } };
  }
  try {
    checkItemShape(obj, 0);
  } catch (err) {
    throw lineError(err, [{ line, id: '', item: { problem: '', steps: [] } }]) ?? err;
  }
  const o = obj as Record<string, unknown> & { problem: string; steps: string[] };
  const id = idOf(o['id'], line);
  return { line, id, item: { problem: o.problem, steps: o.steps, id } };
}

/** Remembers which line claimed each id. */
export class IdRegistry {
  readonly #lines = new Map<string, number>();

  claim(chain: InputChain): void {
    const first = this.#lines.get(chain.id);
    if (first !== undefined) throw new InputLineError(chain.line, `id ${JSON.stringify(chain.id)} is also the id of line ${first}; give each chain its own id`);
    this.#lines.set(chain.id, chain.line);
  }
}
