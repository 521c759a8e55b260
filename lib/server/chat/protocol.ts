// The messages between the service and its template worker (template-worker.mjs, which
// checks itself against these types through JSDoc).

// the budget and the failure kinds are the bounded renderer's, shared with PrmTokenizer
import type { TemplateBudget, TemplateFailureKind } from '../../tokenize/bounded-template.mjs';
export type { TemplateBudget, TemplateFailureKind };

export interface RenderRequest {
  id: number;
  source: string;
  /** The template's variables: messages, add_generation_prompt, bos_token, ... */
  context: Record<string, unknown>;
  budget: TemplateBudget;
}

export type RenderReply =
  | { id: number; ok: true; text: string; steps: number }
  | { id: number; ok: false; kind: TemplateFailureKind; message: string };

export type FromTemplateWorker = { ready: true } | RenderReply;
