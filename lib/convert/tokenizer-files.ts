// The tokenizer travels with the converted model, so the folder is self-contained. Each file
// is read from inside the checkpoint folder (a symlink out of it is refused) and written
// through the output folder (temporary name, exclusive creation, rename), as a copy the user
// owns: a read-only source (a shared cache) must not make the output read-only.
import { existsSync, readFileSync } from 'node:fs';
import { insideFolder } from '../model/paths.js';
import type { OutputFolder } from './folder.js';

const OPTIONAL = ['special_tokens_map.json', 'tokenizer.model', 'vocab.json', 'merges.txt'];

export function copyTokenizer(from: string, to: OutputFolder): string[] {
  const src = insideFolder(from, 'tokenizer.json', `${from}: tokenizer.json`);
  if (!existsSync(src)) throw new TypeError(`${from} has no tokenizer.json (prmkit needs the fast tokenizer's file)`);
  to.write('tokenizer.json', readFileSync(src));
  const copied = ['tokenizer.json'];
  const cfgPath = insideFolder(from, 'tokenizer_config.json', `${from}: tokenizer_config.json`);
  const jinja = insideFolder(from, 'chat_template.jinja', `${from}: chat_template.jinja`);
  if (existsSync(cfgPath)) {
    let cfg: Record<string, unknown>;
    try {
      const v = JSON.parse(readFileSync(cfgPath, 'utf8')) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
      cfg = v as Record<string, unknown>;
    } catch (e) {
      throw new TypeError(`${cfgPath} is not valid JSON: ${(e as Error).message}`);
    }
    // newer transformers keep the chat template beside the config; prmkit reads it from the config
    if (cfg.chat_template === undefined && existsSync(jinja)) cfg.chat_template = readFileSync(jinja, 'utf8');
    to.write('tokenizer_config.json', JSON.stringify(cfg, null, 1));
    copied.push('tokenizer_config.json');
  }
  for (const f of OPTIONAL) {
    const p = insideFolder(from, f, `${from}: ${f}`);
    if (existsSync(p)) {
      to.write(f, readFileSync(p));
      copied.push(f);
    }
  }
  return copied;
}
