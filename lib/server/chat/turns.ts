// Chat-templated text as RL trainers send it, read back into a PRM's chain: the problem a
// policy prompt poses (its last user turn), a response without its end-of-turn markers, and
// OpenR's "question, then steps ended by the step tag" strings.
import { splitSteps } from '../../formats/split.js';
import type { ChainItem } from '../../interfaces.js';

/** Texts a decoded policy sequence may end with after its response: not part of the answer. */
const END_MARKERS = ['<|im_end|>', '<|endoftext|>', '<|eot_id|>', '<|end_of_text|>', '</s>', '<|end|>'];

// The user turn of the chat templates policies are commonly trained with (ChatML as in
// Qwen, Llama 3, Mistral's [INST]): a PRM reads the question, not the policy's control tokens.
const USER_TURNS = [
  /<\|im_start\|>user\n([\s\S]*?)<\|im_end\|>/g,
  /<\|start_header_id\|>user<\|end_header_id\|>\n\n([\s\S]*?)<\|eot_id\|>/g,
  /\[INST\]([\s\S]*?)\[\/INST\]/g,
];

/** The problem a prompt poses: its last user turn when it is chat-templated, else the prompt itself. */
export function problemOf(prompt: string): string {
  for (const re of USER_TURNS) {
    const turns = [...prompt.matchAll(re)];
    if (turns.length > 0) return turns[turns.length - 1]![1]!.trim();
  }
  return prompt;
}

/** The response without trailing whitespace and end-of-turn markers, however they are stacked. */
export function stripEnd(text: string): string {
  for (let changed = true; changed; ) {
    changed = false;
    const t = text.trimEnd();
    if (t !== text) [text, changed] = [t, true];
    for (const m of END_MARKERS)
      if (text.endsWith(m)) [text, changed] = [text.slice(0, -m.length), true];
  }
  return text;
}

/** OpenR's input: the question, a line break, then the answer's steps each ended by the step tag. */
export function openrChain(text: string, separator: string | undefined, splitterFallback: string): ChainItem {
  const useTag = separator !== undefined && separator.trim().length > 0 && text.includes(separator.trim());
  const pieces = useTag ? splitSteps(text, separator!.trim()) : splitSteps(text, splitterFallback);
  if (pieces.length === 0) return { problem: '', steps: [] };
  const first = pieces[0]!.text;
  const nl = first.lastIndexOf('\n');
  const head = nl < 0 ? [] : [first.slice(nl + 1).trim()].filter((s) => s.length > 0);
  return { problem: nl < 0 ? '' : first.slice(0, nl), steps: nl < 0 ? pieces.map((p) => p.text) : [...head, ...pieces.slice(1).map((p) => p.text)] };
}

