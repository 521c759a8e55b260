// A Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) with what PRM formats
// need from it: plain encoding, token lookups, special-token texts and the tokenizer's own
// chat template rendered with @huggingface/jinja (never a re-typed copy of it), under a step
// and size budget: a checkpoint's template is a program that runs once per chain encoded.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { compileTemplate, renderBounded, TemplateError } from './bounded-template.mjs';
import type { CompiledTemplate, TemplateBudget } from './bounded-template.mjs';
import { boolean, invalidType, knownKeys, nestsAtMost, nonNegativeInt, object, string } from '../is.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** An added token to force into the vocabulary (e.g. Qwen PRM's `<extra_0>` at 151651). */
export interface AddedTokenSpec {
  id: number;
  content: string;
  special?: boolean;
}

export interface TokenizerSource {
  /** tokenizer.json contents */
  json: Record<string, unknown>;
  /** tokenizer_config.json contents (chat_template, bos_token, model_max_length, ...) */
  config?: Record<string, unknown>;
  /** Where `config` was read from, for messages about it (its chat template above all). */
  configPath?: string;
}

export interface LoadTokenizerOptions {
  /** Tokens to add or rename by id before building the tokenizer. */
  addedTokens?: readonly AddedTokenSpec[];
}

interface RawAddedToken {
  id: number;
  content: string;
  special?: boolean;
  [k: string]: unknown;
}

const MAX_JSON_DEPTH = 64;

function readJson(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TypeError(`${what}: cannot read ${path}: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  } catch (e) {
    throw new TypeError(`${what}: ${path} is not valid JSON: ${(e as Error).message}`);
  }
  // real tokenizer files nest under 10 levels; the tokenizers library recurses into them
  if (!nestsAtMost(v, MAX_JSON_DEPTH)) throw new TypeError(`${what}: ${path} nests deeper than ${MAX_JSON_DEPTH} levels; no tokenizer file does`);
  return v as Record<string, unknown>;
}

function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string')
    return (v as { content: string }).content;
  return undefined;
}

/** Reads `path` (a tokenizer.json, or a directory holding tokenizer.json and tokenizer_config.json). */
export function readTokenizerSource(path: string): TokenizerSource {
  if (typeof path !== 'string' || path.length === 0) throw invalidType('tokenizer', 'a path to tokenizer.json or its directory', path);
  let dir: string | undefined;
  try {
    dir = statSync(path).isDirectory() ? path : undefined;
  } catch {
    throw new TypeError(`tokenizer: ${path} does not exist`);
  }
  const jsonPath = dir ? join(dir, 'tokenizer.json') : path;
  const configPath = join(dir ?? join(path, '..'), 'tokenizer_config.json');
  const json = readJson(jsonPath, 'tokenizer');
  let config: Record<string, unknown> | undefined;
  try {
    statSync(configPath);
    config = readJson(configPath, 'tokenizer config');
  } catch (e) {
    if (e instanceof TypeError && !/does not exist|ENOENT/.test(e.message)) throw e;
  }
  return config ? { json, config, configPath } : { json };
}

/**
 * The longest text a token of this vocabulary covers. Byte-level and byte-fallback BPE always
 * have a token for what they meet, so a token's string bounds its text (a byte-level
 * character is one byte, a byte-fallback piece like <0x0A> over-counts, which keeps the bound
 * safe). With an unknown token and no such fallback, one token can stand for any run of
 * unknown text: no bound.
 */
function longestTokenChars(json: Record<string, unknown>, added: readonly RawAddedToken[]): number | undefined {
  const model = json.model as { type?: unknown; vocab?: unknown; unk_token?: unknown; byte_fallback?: unknown } | undefined;
  if (!model || model.type !== 'BPE' || model.vocab === null || typeof model.vocab !== 'object' || Array.isArray(model.vocab)) return undefined;
  const pre = JSON.stringify(json.pre_tokenizer ?? null);
  const byteLevel = pre.includes('"ByteLevel"');
  if (model.unk_token !== null && model.unk_token !== undefined && model.byte_fallback !== true && !byteLevel) return undefined;
  let longest = 1;
  for (const piece of Object.keys(model.vocab)) if (piece.length > longest) longest = piece.length;
  for (const t of added) if (t.content.length > longest) longest = t.content.length;
  return longest;
}

/**
 * The in-process budget of a chat-template render of `messages`. The families' own templates
 * take 25-30 steps a message (a chain of 400 messages: 12 000 steps) and write the messages'
 * text and some scaffolding; 50 000 steps, and texts up to four times the messages' text
 * plus 64 KiB, leave them a wide margin while keeping a hostile template's cost (each step's
 * work is bounded by the text limit) to a moment, once. No clock: a chain renders or fails
 * the same way on a loaded machine.
 */
export function chatTemplateBudget(messages: readonly ChatMessage[]): TemplateBudget {
  let chars = 0;
  for (const m of messages) chars += String(m.content).length;
  return { maxSteps: 50_000, maxChars: 65_536 + 4 * chars, maxItems: 65_536, timeoutMs: Infinity };
}

export class PrmTokenizer {
  readonly config: Readonly<Record<string, unknown>>;
  private readonly tok: Tokenizer;
  private readonly specialTexts: string[];
  private readonly configPath: string;
  private templateCache?: CompiledTemplate;
  /** Longest sequence the tokenizer's model was trained for (tokenizer_config `model_max_length`), if sane. */
  readonly modelMaxLength?: number;
  /**
   * The most text (UTF-16 code units) one token can stand for, when the vocabulary bounds it:
   * a text of n units is then at least n / maxTokenChars tokens (before normalization). Absent
   * when an unknown-token rule can swallow text of any length.
   */
  readonly maxTokenChars?: number;

  constructor(source: TokenizerSource, options: LoadTokenizerOptions = {}) {
    const json = structuredClone(source.json);
    const config = structuredClone(source.config ?? {});
    const added = (Array.isArray(json.added_tokens) ? json.added_tokens : []) as RawAddedToken[];
    knownKeys(object(options, 'tokenizer options'), ['addedTokens'], 'tokenizer options');
    if (options.addedTokens !== undefined && !Array.isArray(options.addedTokens))
      throw invalidType('addedTokens', 'an array of { id, content, special? }', options.addedTokens);
    (options.addedTokens ?? []).forEach((spec, k) => {
      knownKeys(object(spec, `addedTokens[${k}]`, 'an object { id, content, special? }'), ['id', 'content', 'special'], `addedTokens[${k}]`);
      nonNegativeInt(spec.id, `addedTokens[${k}].id`);
      string(spec.content, `addedTokens[${k}].content`, { nonEmpty: true });
      if (spec.special !== undefined) boolean(spec.special, `addedTokens[${k}].special`);
    });
    for (const spec of options.addedTokens ?? []) {
      const entry: RawAddedToken = {
        id: spec.id, content: spec.content, single_word: false, lstrip: false, rstrip: false,
        normalized: false, special: spec.special ?? true,
      };
      const at = added.findIndex((t) => t.id === spec.id);
      if (at >= 0) added[at] = entry;
      else added.push(entry);
      // tokenizer_config's added_tokens_decoder would otherwise resurrect the old text
      const dec = config.added_tokens_decoder as Record<string, unknown> | undefined;
      if (dec && typeof dec === 'object') dec[String(spec.id)] = { ...entry };
    }
    json.added_tokens = added;
    this.tok = new Tokenizer(json, config);
    this.config = config;
    this.configPath = source.configPath ?? 'tokenizer_config.json';
    this.specialTexts = added.filter((t) => t.special).map((t) => t.content).filter((c) => c.length > 0);
    const mml = config.model_max_length;
    if (typeof mml === 'number' && Number.isInteger(mml) && mml > 0 && mml < 1e8) this.modelMaxLength = mml;
    this.maxTokenChars = longestTokenChars(json, added);
  }

  static load(path: string, options?: LoadTokenizerOptions): PrmTokenizer {
    return new PrmTokenizer(readTokenizerSource(path), options);
  }

  encode(text: string, addSpecialTokens = false): number[] {
    return this.tok.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.tok.decode([...ids], { skip_special_tokens: false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  get bosToken(): string | undefined {
    return tokenText(this.config.bos_token);
  }

  get eosToken(): string | undefined {
    return tokenText(this.config.eos_token);
  }

  /** Texts of the special added tokens: a step must not contain them (they would parse as control tokens). */
  get specialTokens(): readonly string[] {
    return this.specialTexts;
  }

  get hasChatTemplate(): boolean {
    return typeof this.chatTemplateSource() === 'string';
  }

  private chatTemplateSource(): string | undefined {
    const t = this.config.chat_template;
    if (typeof t === 'string') return t;
    // tokenizer_config may hold a list of named templates; 'default' is the chat one
    if (Array.isArray(t)) {
      const d = (t as Array<{ name?: string; template?: string }>).find((x) => x.name === 'default');
      if (d && typeof d.template === 'string') return d.template;
    }
    return undefined;
  }

  /**
   * The tokenizer's own chat template, rendered (text, not ids) under `chatTemplateBudget(messages)`.
   * A template that does not parse, raises, or goes past the budget throws an Error naming
   * tokenizer_config.json (a RangeError past the budget).
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: { addGenerationPrompt?: boolean } = {}): string {
    const src = this.chatTemplateSource();
    if (src === undefined) throw new TypeError(`this tokenizer has no chat_template in ${this.configPath}; the format needs one`);
    const context = {
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? false,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
    };
    try {
      this.templateCache ??= compileTemplate(src);
      return renderBounded(this.templateCache, context, chatTemplateBudget(messages)).text;
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      const what = `${this.configPath}: chat_template`;
      if (e.kind === 'steps' || e.kind === 'size' || e.kind === 'time') throw new RangeError(`${what} is over its render budget: ${e.message}`);
      throw new Error(`${what}: ${e.message}`);
    }
  }
}
