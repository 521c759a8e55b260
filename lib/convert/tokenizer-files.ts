// The tokenizer travels with the converted model, so the folder is self-contained.
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const OPTIONAL = ['special_tokens_map.json', 'tokenizer.model', 'vocab.json', 'merges.txt'];

/** A copy the user owns: a read-only source (a shared cache) must not make the output read-only. */
function copy(from: string, to: string): void {
  copyFileSync(from, to);
  chmodSync(to, 0o644);
}

export function copyTokenizer(from: string, to: string): string[] {
  const src = join(from, 'tokenizer.json');
  if (!existsSync(src)) throw new TypeError(`${from} has no tokenizer.json (prmkit needs the fast tokenizer's file)`);
  copy(src, join(to, 'tokenizer.json'));
  const copied = ['tokenizer.json'];
  const cfgPath = join(from, 'tokenizer_config.json');
  const jinja = join(from, 'chat_template.jinja');
  if (existsSync(cfgPath)) {
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    // newer transformers keep the chat template beside the config; prmkit reads it from the config
    if (cfg.chat_template === undefined && existsSync(jinja)) cfg.chat_template = readFileSync(jinja, 'utf8');
    writeFileSync(join(to, 'tokenizer_config.json'), JSON.stringify(cfg, null, 1));
    copied.push('tokenizer_config.json');
  }
  for (const f of OPTIONAL)
    if (existsSync(join(from, f))) {
      copy(join(from, f), join(to, f));
      copied.push(f);
    }
  return copied;
}
