// A request may name the model it expects; naming another one is a 404, as in vLLM and
// OpenAI, rather than a silent answer from the wrong model.
import { ApiError } from '../errors.js';

export function checkModelName(requested: string | null | undefined, served: string): void {
  if (requested === undefined || requested === null || requested === served) return;
  throw new ApiError(404, 'not_found_error', `The model \`${requested}\` does not exist; this server serves \`${served}\`.`, 'model');
}
