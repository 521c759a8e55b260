// The step-tag token of a Prm's format, for vLLM's STEP pooling.
import { lastTokenId } from '../../formats/errors.js';
import { QWEN_PRM_SEPARATOR } from '../../formats/qwen-math-prm.js';
import { SHEPHERD_TAG } from '../../formats/math-shepherd.js';
import type { PrmFormat } from '../../formats/types.js';
import type { PrmTokenizer } from '../../tokenize/tokenizer.js';

/**
 * The token vLLM's STEP pooler reads for this format: `<extra_0>` (151651 in the Qwen PRM
 * tokenizer) and Math-Shepherd's `ки`. Formats whose step mark is not one token have none.
 */
export function stepTagOf(format: PrmFormat, tokenizer: PrmTokenizer): number | undefined {
  if (format.name === 'qwen2.5-math-prm') return tokenizer.tokenToId(QWEN_PRM_SEPARATOR);
  if (format.name === 'math-shepherd') return lastTokenId(tokenizer, ` ${SHEPHERD_TAG}`, 'math-shepherd step tag');
  return undefined;
}
