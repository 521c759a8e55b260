// Mapping a server's finish reason onto a step's: ended at a stop sequence (a step), at
// max_tokens, or at the end of the solution.
import type { Continuation } from '../../interfaces.js';
import type { RawChoice } from './client.js';

export function stepFinish(c: RawChoice, stop: readonly string[]): Continuation['finishReason'] {
  if (c.finishReason === 'length') return 'length';
  // vLLM says which stop ended the text; null there means end of sequence
  if ('stopReason' in c) return typeof c.stopReason === 'string' && stop.includes(c.stopReason) ? 'stop' : c.stopReason === null || c.stopReason === undefined ? 'eos' : 'stop';
  // other servers only say "stop": with stop sequences given, that is the usual case
  return stop.length > 0 ? 'stop' : 'eos';
}
