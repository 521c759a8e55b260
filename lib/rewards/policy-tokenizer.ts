// The policy's tokenization of a response, with each token's character span in the text.
// The spans are exact: every token's bytes are recovered from the vocabulary (byte-level BPE
// as in Qwen2.5 and Llama 3, or SentencePiece-style "▁" pieces with byte fallback as in
// Mistral and Llama 2), laid end to end and matched against the text's own UTF-8 bytes.
import { PrmTokenizer, readTokenizerSource } from '../tokenize/tokenizer.js';
import type { TokenizerSource } from '../tokenize/tokenizer.js';
import { PrmInputError } from '../errors.js';

/** Policy tokens of a text: ids and UTF-16 spans `[starts[i], ends[i])` (a character split over two tokens lies in both). */
export interface TokenSpans {
  ids: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
}

type PieceKind = 'byte-level' | 'metaspace';

// GPT-2's printable stand-ins for the 256 byte values, inverted: character -> byte.
function byteLevelTable(): Map<string, number> {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const table = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (keep.includes(b)) table.set(String.fromCharCode(b), b);
    else table.set(String.fromCharCode(256 + extra++), b);
  }
  return table;
}

function decoderKind(json: Record<string, unknown>): PieceKind | undefined {
  const types: string[] = [];
  const walk = (d: unknown) => {
    if (!d || typeof d !== 'object') return;
    const o = d as { type?: unknown; decoders?: unknown };
    if (typeof o.type === 'string') types.push(o.type);
    if (Array.isArray(o.decoders)) o.decoders.forEach(walk);
  };
  walk(json.decoder);
  if (types.includes('ByteLevel')) return 'byte-level';
  if (types.includes('Metaspace') || types.includes('Replace') || types.includes('ByteFallback')) return 'metaspace';
  return undefined;
}

const utf8 = new TextEncoder();

export class PolicyTokenizer {
  readonly tokenizer: PrmTokenizer;
  private readonly kind: PieceKind;
  private readonly added = new Map<number, string>();
  private readonly pieceBytes = new Map<number, Uint8Array>();
  private readonly byteTable?: Map<string, number>;

  constructor(source: TokenizerSource) {
    const kind = decoderKind(source.json);
    if (!kind)
      throw new TypeError('policy tokenizer: its decoder is neither byte-level nor SentencePiece-style, so token spans cannot be recovered; pass each response\'s tokenOffsets instead');
    this.kind = kind;
    this.tokenizer = new PrmTokenizer(source);
    for (const t of (Array.isArray(source.json.added_tokens) ? source.json.added_tokens : []) as Array<{ id: number; content: string }>)
      this.added.set(t.id, t.content);
    if (kind === 'byte-level') this.byteTable = byteLevelTable();
  }

  /** A tokenizer.json, or a directory holding one. */
  static load(path: string): PolicyTokenizer {
    return new PolicyTokenizer(readTokenizerSource(path));
  }

  private bytesOf(id: number): Uint8Array {
    let b = this.pieceBytes.get(id);
    if (b) return b;
    const added = this.added.get(id);
    const piece = added ?? this.tokenizer.idToToken(id) ?? '';
    if (added !== undefined) b = utf8.encode(added);
    else if (this.kind === 'byte-level') {
      const chars = Array.from(piece);
      b = new Uint8Array(chars.length);
      chars.forEach((c, i) => (b![i] = this.byteTable!.get(c) ?? 0x3f));
    } else {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
      b = m ? Uint8Array.of(parseInt(m[1], 16)) : utf8.encode(piece.replace(/▁/g, ' '));
    }
    this.pieceBytes.set(id, b);
    return b;
  }

  /** Tokenizes `text` (no special tokens added) and returns every token's span in it. */
  spans(text: string, path = 'text'): TokenSpans {
    const ids = this.tokenizer.encode(text, false);
    const textBytes = utf8.encode(text);
    // byte offset -> index of the UTF-16 unit that starts its character
    const charAt = new Int32Array(textBytes.length + 1);
    let b = 0;
    for (let i = 0; i < text.length; i++) {
      const cp = text.codePointAt(i)!;
      const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      for (let k = 0; k < n; k++) charAt[b++] = i;
      if (cp >= 0x10000) i++;
    }
    charAt[textBytes.length] = text.length;
    const starts = new Int32Array(ids.length);
    const ends = new Int32Array(ids.length);
    // SentencePiece-style tokenizers put a "▁" before the text: one space that is not in it
    let skip = 0;
    let at = 0;
    for (let t = 0; t < ids.length; t++) {
      const bytes = this.bytesOf(ids[t]);
      let from = 0;
      if (t === 0 && this.kind === 'metaspace' && bytes[0] === 0x20 && textBytes[0] !== 0x20) from = skip = 1;
      for (let k = from; k < bytes.length; k++, at++)
        if (textBytes[at] !== bytes[k])
          throw new PrmInputError(path, `does not tokenize back to itself with the policy tokenizer at byte ${at} (its normalizer changes the text?); pass tokenOffsets instead`);
      const b0 = at - (bytes.length - from);
      const b1 = at;
      starts[t] = charAt[b0];
      // end: one past the UTF-16 unit(s) of the character holding the token's last byte
      ends[t] = b1 === b0 ? starts[t] : charAt[b1 - 1] + (text.codePointAt(charAt[b1 - 1])! >= 0x10000 ? 2 : 1);
    }
    if (at !== textBytes.length)
      throw new PrmInputError(path, `has ${textBytes.length} bytes but its policy tokens cover ${at}${skip ? ' after the leading space' : ''}; pass tokenOffsets instead`);
    return { ids: Int32Array.from(ids), starts, ends };
  }
}
