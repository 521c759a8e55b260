// What a PRM family fixes about its input: how a chain becomes text/tokens, where each step
// is read (the boundary), and how the head's outputs turn into P(step correct).
import type { Activation, Aggregation } from '../kernels/types.js';
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';

export type FormatName = 'qwen2.5-math-prm' | 'math-shepherd' | 'rlhflow' | 'skywork' | 'trl' | 'eurus-prm' | 'granite-prm';

/** How the head's outputs at a boundary become P(step correct). */
export interface FormatHead {
  activation: Activation;
  /** Class index meaning "step correct". */
  positive: number;
  /** Number of classes of a score/value head (ignored when `labels` pick LM-head columns). */
  outputs: number;
  /**
   * LM-head token texts whose logits are the classes (Math-Shepherd '+'/'-'); resolved to ids
   * with the tokenizer (last id of the text encoded alone, as the authors' code does).
   */
  labels?: readonly string[];
  /**
   * The probability of `labels[positive]` is a softmax over the whole vocabulary (IBM Granite's
   * P("Y")), not over the labels: the LM head's every row is read (the native LM-head kernel).
   */
  vocabulary?: boolean;
}

/** One chain as token ids, with the token index of each step's boundary. */
export interface EncodedChain {
  ids: number[];
  positions: number[];
  /** The first token of the response (formats that read a response: implicit PRMs). */
  start?: number;
}

export interface PrmFormat {
  readonly name: string;
  /** Human-readable separator (for messages and docs). */
  readonly separator: string;
  /**
   * The text that ends a step when a solution arrives as one string, where the format has one
   * (`<extra_0>`, ` ки`, TRL's separator): what the 'auto' step splitter splits on.
   */
  readonly stepMark?: string;
  readonly head: FormatHead;
  /** The aggregation the model's authors use. */
  readonly aggregation: Aggregation;
  /**
   * The format of an implicit PRM: the step reward is a log-likelihood ratio of two causal
   * LMs over the response's tokens (`encode` gives each chain's `start`), not a head's output.
   */
  readonly implicit?: boolean;
  /** Encodes one chain; `index` names the item in errors. */
  encode(item: ChainItem, tokenizer: PrmTokenizer, index: number): EncodedChain;
}

/** A user-defined format (a PRM family prmkit does not know by name). */
export interface CustomFormat {
  kind: 'custom';
  name?: string;
  /**
   * Where steps are read: `{ text }` is written after every step and found again by its token
   * id after tokenizing the whole text; `{ id }` is a token id appended after every step's
   * tokens (each piece of text is tokenized alone, like Skywork).
   */
  separator: { text: string } | { id: number };
  /**
   * Jinja template producing the whole input text from `problem`, `steps`, `separator` (the
   * separator text, or a marker for an id separator), `bos_token`, `eos_token`. Default:
   * `{{ problem }}\n{% for s in steps %}{{ s }}{{ separator }}{% endfor %}`.
   */
  template?: string;
  head: FormatHead;
  aggregation?: Aggregation;
  /** Let the tokenizer add its special tokens (e.g. BOS) to the text; default true. */
  addSpecialTokens?: boolean;
}

/** A TRL PRMTrainer model's format with its settings (the name 'trl' gives the defaults). */
export interface TrlFormatSpec {
  kind: 'trl';
  /** The step separator (TRL's `step_separator`, default "\n"). */
  separator?: string;
  /** Class index meaning "step correct" (default 1). */
  positive?: number;
  /** Label columns K of the token-classification head (default 2). */
  classes?: number;
}

export type FormatSpec = FormatName | CustomFormat | TrlFormatSpec | PrmFormat;
