// @ts-check
// Chat templates rendered on their own thread, under a budget (lib/tokenize/bounded-template.mjs:
// steps, sizes, `range`/`repeat`/`join` refused before they allocate, and here the clock as
// well); the service also ends this thread if an answer is late. Heap limits (resourceLimits)
// are not used: a worker that hits them can still abort the whole process, so memory is
// bounded by the checks instead.
import { parentPort } from 'node:worker_threads';
import { compileTemplate, renderBounded, TemplateError } from '../../tokenize/bounded-template.mjs';

/** @typedef {import('./protocol.js').RenderRequest} RenderRequest */
/** @typedef {import('./protocol.js').RenderReply} RenderReply */
/** @typedef {import('./protocol.js').FromTemplateWorker} FromTemplateWorker */

if (!parentPort) throw new Error('template-worker.mjs runs as a worker thread of the service');
const port = parentPort;

/** @param {FromTemplateWorker} m */
function send(m) {
  port.postMessage(m);
}

/** Compiled templates by source; a model's own template is compiled once. */
const compiled = new Map();

/** @param {string} source */
function compile(source) {
  let t = compiled.get(source);
  if (t === undefined) {
    t = compileTemplate(source);
    if (compiled.size >= 32) compiled.clear();
    compiled.set(source, t);
  }
  return t;
}

/** @param {RenderRequest} req @returns {RenderReply} */
function render(req) {
  const { id, source, context, budget } = req;
  // the clock starts before compiling: a template that takes long to parse counts too
  const deadline = performance.now() + budget.timeoutMs;
  try {
    const template = compile(source);
    const { text, steps } = renderBounded(template, context, { ...budget, timeoutMs: Math.max(0, deadline - performance.now()) });
    return { id, ok: true, text, steps };
  } catch (e) {
    if (e instanceof TemplateError) {
      // the budget's own figure in the message, not what was left of it after compiling
      const message = e.kind === 'time' ? `the template ran longer than ${budget.timeoutMs} ms` : e.message;
      return { id, ok: false, kind: e.kind, message };
    }
    return { id, ok: false, kind: 'render', message: e instanceof Error ? e.message : String(e) };
  }
}

port.on('message', (/** @type {RenderRequest} */ req) => send(render(req)));
send({ ready: true });
