// A deterministic token count for synthetic text: digits one by one, words whole, every other
// symbol alone (close to how Llama and Qwen tokenizers split arithmetic).
const TOKEN = /\d|[A-Za-z]+|[^\sA-Za-z\d]/g;

export function countTokens(text: string): number {
  return text.match(TOKEN)?.length ?? 0;
}

/** The longest prefix of `text` holding at most `max` tokens. */
export function truncateTokens(text: string, max: number): string {
  if (max <= 0) return '';
  TOKEN.lastIndex = 0;
  let m: RegExpExecArray | null;
  let n = 0;
  let end = 0;
  while ((m = TOKEN.exec(text)) !== null) {
    if (n === max) break;
    n++;
    end = m.index + m[0].length;
  }
  TOKEN.lastIndex = 0;
  return text.slice(0, end);
}
