// Field rules vLLM's request models apply, kept in one place for every vLLM-shaped route:
// response ids, enumerated fields, removed parameters, activation flags and truncation.
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../errors.js';

/** `${prefix}-${X-Request-Id}`, or a random id when the client sent none (vLLM's rule). */
export function responseId(prefix: string, request: FastifyRequest): string {
  const h = request.headers['x-request-id'];
  const given = Array.isArray(h) ? h[0] : h;
  return `${prefix}-${given !== undefined && given.length > 0 ? given : randomUUID().replace(/-/g, '')}`;
}

/**
 * One of a fixed set of strings, or a 400 that shows the value as vLLM's validation does
 * ("Input should be 'float' or 'base64' [type=literal_error, input_value='x']").
 */
export function literal<T extends string>(value: string | null | undefined, field: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined || value === null) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const list = allowed.map((a) => `'${a}'`);
  const expected = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : list[0];
  throw badRequest(`${field}: Input should be ${expected} [type=literal_error, input_value=${JSON.stringify(value)}]`, field);
}

/** Parameters vLLM removed: it answers 400 rather than silently doing something else. */
export function rejectRemoved(body: Record<string, unknown>): void {
  if ('normalize' in body) throw badRequest('Parameter `normalize` was removed; use `use_activation` instead.', 'normalize');
  if (body['task'] === 'score') throw badRequest('`score` task was removed; use `classify` instead.', 'task');
  if (body['task'] === 'encode') throw badRequest('`encode` task was removed; use `token_embed` or `token_classify` instead.', 'task');
}

/** vLLM refuses a priority other than 0 unless its scheduler orders by priority; this one does not. */
export function checkPriority(priority: number | undefined): void {
  if (priority !== undefined && priority !== 0) throw badRequest('priority scheduling is not enabled on this server; send priority 0 or leave it out', 'priority');
}

/** vLLM's `use_activation` (default true); the older `activation` / `softmax` names count when it is absent. */
export function useActivation(body: { use_activation?: boolean | null; activation?: boolean | null; softmax?: boolean | null }): boolean {
  return body.use_activation ?? body.activation ?? body.softmax ?? true;
}

export type TruncationSide = 'left' | 'right';

/**
 * The token budget of `truncate_prompt_tokens`: null = no truncation, -1 = max_model_len,
 * more than max_model_len is vLLM's 400.
 */
export function truncationSize(k: number | null | undefined, maxModelLen: number): number | null {
  if (k === undefined || k === null) return null;
  if (k > maxModelLen)
    throw badRequest('truncate_prompt_tokens value is greater than max_model_len. Please request a smaller truncation size.', 'truncate_prompt_tokens');
  if (k === -1) return maxModelLen;
  if (k < 1) throw badRequest('truncate_prompt_tokens must be -1 or a positive number of tokens', 'truncate_prompt_tokens');
  return k;
}

/** 'right' (vLLM's default) keeps the first k tokens, 'left' the last k. */
export function truncateIds(ids: number[], k: number | null, side: TruncationSide): number[] {
  if (k === null || ids.length <= k) return ids;
  return side === 'left' ? ids.slice(ids.length - k) : ids.slice(0, k);
}
