// The messages between the service and its template worker (template-worker.mjs, which
// checks itself against these types through JSDoc).

/** How far one render may go; past any bound it stops with a `TemplateFailure`. */
export interface TemplateBudget {
  /** Interpreter steps (one per evaluated node of the template). */
  maxSteps: number;
  /** Wall-clock time of one render in the worker, compiling included. */
  timeoutMs: number;
  /** Characters of any one string the template builds, the output included. */
  maxChars: number;
  /** Items of any one list the template builds (`range(n)` included, checked before it is built). */
  maxItems: number;
}

export interface RenderRequest {
  id: number;
  source: string;
  /** The template's variables: messages, add_generation_prompt, bos_token, ... */
  context: Record<string, unknown>;
  budget: TemplateBudget;
}

/**
 * Why a render stopped: `syntax` (the template does not parse), `render` (it raised or
 * failed on its input), or past a bound (`steps`, `time`, `size`).
 */
export type TemplateFailureKind = 'syntax' | 'render' | 'steps' | 'time' | 'size';

export type RenderReply =
  | { id: number; ok: true; text: string; steps: number }
  | { id: number; ok: false; kind: TemplateFailureKind; message: string };

export type FromTemplateWorker = { ready: true } | RenderReply;
