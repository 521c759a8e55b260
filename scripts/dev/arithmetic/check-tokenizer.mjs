#!/usr/bin/env node
// Encodes the texts of a reference file with prmkit's PrmTokenizer (npm @huggingface/tokenizers)
// and compares every id with what Python `tokenizers` gave (tokenizer.py --check writes the
// file). Exits 1 on the first difference.
//   node scripts/dev/arithmetic/check-tokenizer.mjs TOKENIZER_DIR REFERENCE.json
import { readFileSync } from 'node:fs';
import { PrmTokenizer } from 'prmkit';

const [dir, refPath] = process.argv.slice(2);
if (!dir || !refPath) throw new TypeError('usage: check-tokenizer.mjs TOKENIZER_DIR REFERENCE.json');
const tok = PrmTokenizer.load(dir);
const ref = JSON.parse(readFileSync(refPath, 'utf8'));
let tokens = 0;
for (const [k, { text, ids }] of ref.entries()) {
  const got = tok.encode(text);
  if (got.length !== ids.length || got.some((v, i) => v !== ids[i])) {
    console.error(`text ${k} differs: ${JSON.stringify(text)}\n python ${JSON.stringify(ids)}\n node   ${JSON.stringify(got)}`);
    process.exit(1);
  }
  tokens += ids.length;
}
console.log(`${ref.length} texts, ${tokens} tokens: Node and Python encode identically (maxTokenChars ${tok.maxTokenChars})`);
