// The scorer `eval processbench` runs: the chosen model or reference scorer, with
//  - the step probabilities already in the --scores file answered from it (a rerun after a
//    failure or Ctrl-C scores only what is missing), and every new batch appended to it;
//  - chains cut by the context (--overflow truncate) padded to their step count with NaN:
//    a step the model never saw is not called wrong by any detector;
//  - a chain the model refuses named by its ProcessBench id.
// Each line names the model that scored it: scores of another model are never reused.
import type { Writable } from 'node:stream';
import type { ChainItem, ScoreCallOptions, StepScorer, StepScores } from '../../interfaces.js';
import { CliError, fileError, write } from '../io.js';
import { inputErrorAt } from '../input.js';

/** What marks a line of a --scores file. */
export const SCORES_OUTPUT = { what: 'a prmkit eval --scores file', fields: ['stepProbs'] } as const;

/** A --scores line as read back: JSON has no NaN, so unseen steps were written as null. */
export function scoresFromLine(value: Record<string, unknown>): number[] | undefined {
  const p = value['stepProbs'];
  if (!Array.isArray(p) || !p.every((x) => x === null || (typeof x === 'number' && x >= 0 && x <= 1))) return undefined;
  return p.map((x) => (x === null ? NaN : (x as number)));
}

export class RecordingScorer implements StepScorer {
  readonly name: string;
  /** Chains whose steps did not all fit the context. */
  truncated = 0;
  /** Chains answered from the --scores file. */
  reused = 0;

  constructor(
    private readonly inner: StepScorer,
    private readonly known: ReadonlyMap<string, number[]>,
    private readonly sink: Writable | undefined,
    private readonly sinkLabel: string,
  ) {
    this.name = inner.name;
  }

  async score(items: readonly ChainItem[], options?: ScoreCallOptions): Promise<StepScores[]> {
    const out: (StepScores | undefined)[] = items.map((it) => {
      const p = it.id === undefined ? undefined : this.known.get(it.id);
      return p && p.length === it.steps.length ? { stepProbs: p } : undefined;
    });
    const todo = items.flatMap((_, i) => (out[i] ? [] : [i]));
    this.reused += items.length - todo.length;
    if (todo.length === 0) return out as StepScores[];
    const asked = todo.map((i) => items[i]!);
    let got: StepScores[];
    try {
      got = await this.inner.score(asked, options);
    } catch (err) {
      const at = inputErrorAt(err, asked.length);
      if (at) throw new CliError(`ProcessBench record ${asked[at.index]!.id}: ${at.field ? `${at.field} ` : ''}${at.detail}`);
      throw err;
    }
    let text = '';
    todo.forEach((i, j) => {
      const r = got[j] as (StepScores & { truncated?: boolean }) | undefined;
      if (!r) return;
      const steps = items[i]!.steps.length;
      let probs = Array.from(r.stepProbs);
      if (r.truncated === true || probs.length < steps) {
        this.truncated++;
        probs = probs.concat(Array.from({ length: Math.max(0, steps - probs.length) }, () => NaN));
      }
      out[i] = { stepProbs: probs };
      text += JSON.stringify({ id: items[i]!.id, model: this.name, stepProbs: probs.map((p) => (Number.isNaN(p) ? null : p)), truncated: probs.length > r.stepProbs.length }) + '\n';
    });
    if (this.sink && text) {
      try {
        await write(this.sink, text);
      } catch (err) {
        throw fileError(err, `cannot write ${this.sinkLabel}`) ?? err;
      }
    }
    return out as StepScores[];
  }
}
