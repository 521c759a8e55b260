// @ts-check
// Chat templates rendered on their own thread, under a budget. A template is a program: a
// request's own one may loop a billion times or double a string until the heap is gone, and
// even a model's own one runs as long as its input makes it. Here every evaluated node costs
// a step, every string and list the template builds is measured as it is built, `range(n)`
// is refused before its list exists, and the clock is read as it goes; the service also ends
// this thread if an answer is late. Heap limits (resourceLimits) are not used: a worker that
// hits them can still abort the whole process, so memory is bounded by the checks instead.
import { parentPort } from 'node:worker_threads';
import { Environment, Interpreter, Template } from '@huggingface/jinja';

/** @typedef {import('./protocol.js').RenderRequest} RenderRequest */
/** @typedef {import('./protocol.js').RenderReply} RenderReply */
/** @typedef {import('./protocol.js').FromTemplateWorker} FromTemplateWorker */
/** @typedef {import('./protocol.js').TemplateBudget} TemplateBudget */
/** @typedef {import('./protocol.js').TemplateFailureKind} TemplateFailureKind */

if (!parentPort) throw new Error('template-worker.mjs runs as a worker thread of the service');
const port = parentPort;

/** @param {FromTemplateWorker} m */
function send(m) {
  port.postMessage(m);
}

class Stop extends Error {
  /** @param {TemplateFailureKind} kind @param {string} message */
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** A template's own `raise_exception(...)`: the template refuses its input. */
class Raised extends Error {}

/**
 * A loop being evaluated, and the text its iterations have written so far: the library
 * appends a loop's iterations inside one evaluation, so its output is measured as it grows.
 * @typedef {{ node: { body: unknown[], defaultBlock: unknown[] }, chars: number }} Loop
 */
/** @typedef {{ steps: number, deadline: number, budget: TemplateBudget, loops: Loop[] }} Meter */

/** The library's interpreter, metered at every node it evaluates. */
class MeteredInterpreter extends Interpreter {
  /** @param {Environment} env @param {Meter} meter */
  constructor(env, meter) {
    super(env);
    this.meter = meter;
  }

  /** Counts a step and reads the clock now and then; throws past the budget. */
  tick() {
    const m = this.meter;
    if (++m.steps > m.budget.maxSteps) throw new Stop('steps', `the template took more than ${m.budget.maxSteps} steps`);
    if ((m.steps & 255) === 0 && performance.now() > m.deadline) throw new Stop('time', `the template ran longer than ${m.budget.timeoutMs} ms`);
  }

  /**
   * Every loop iteration runs its body through here, an empty one included.
   * @param {unknown[]} statements
   * @param {Environment} environment
   * @returns {{ value: string }}
   */
  evaluateBlock(statements, environment) {
    this.tick();
    const out = super.evaluateBlock(statements, environment);
    const loop = this.meter.loops.at(-1);
    if (loop && (statements === loop.node.body || statements === loop.node.defaultBlock)) {
      loop.chars += out.value.length;
      const max = this.meter.budget.maxChars;
      if (loop.chars > max) throw new Stop('size', `a loop of the template wrote more than ${max} characters; the limit is ${max}`);
    }
    return out;
  }

  /**
   * @param {{ type: string } | undefined} statement
   * @param {Environment} environment
   * @returns {{ type: string, value: unknown }}
   */
  evaluate(statement, environment) {
    this.tick();
    const m = this.meter;
    let v;
    if (statement?.type === 'For') {
      m.loops.push({ node: /** @type {Loop['node']} */ (/** @type {unknown} */ (statement)), chars: 0 });
      try {
        v = super.evaluate(statement, environment);
      } finally {
        m.loops.pop();
      }
    } else v = super.evaluate(statement, environment);
    if (v.type === 'StringValue') {
      const n = /** @type {string} */ (v.value).length;
      if (n > m.budget.maxChars) throw new Stop('size', `the template built a text of ${n} characters; the limit is ${m.budget.maxChars}`);
    } else if (v.type === 'ArrayValue' || v.type === 'TupleValue') {
      const n = /** @type {unknown[]} */ (v.value).length;
      if (n > m.budget.maxItems) throw new Stop('size', `the template built a list of ${n} items; the limit is ${m.budget.maxItems}`);
    }
    return v;
  }
}

/**
 * Python's range, refused before its list is built when it would hold more than `max`.
 * @param {number} max
 */
function boundedRange(max) {
  /** @param {number} a @param {number} [b] @param {number} [step] */
  return (a, b, step = 1) => {
    const [start, stop] = b === undefined ? [0, a] : [a, b];
    for (const [name, v] of /** @type {const} */ ([['start', start], ['stop', stop], ['step', step]]))
      if (!Number.isSafeInteger(v)) throw new Raised(`range() ${name} must be an integer, got ${String(v)}`);
    if (step === 0) throw new Raised('range() step must not be zero');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (count > max) throw new Stop('size', `range() of ${count} items; the limit is ${max}`);
    const out = new Array(count);
    for (let i = 0; i < count; i++) out[i] = start + i * step;
    return out;
  };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Python's strftime for the codes chat templates use (a date line in a system prompt).
 * @param {string} format
 */
function strftimeNow(format) {
  const d = new Date();
  const two = (/** @type {number} */ n) => String(n).padStart(2, '0');
  /** @type {Record<string, string>} */
  const codes = {
    Y: String(d.getFullYear()),
    m: two(d.getMonth() + 1),
    d: two(d.getDate()),
    B: MONTHS[d.getMonth()] ?? '',
    b: (MONTHS[d.getMonth()] ?? '').slice(0, 3),
    H: two(d.getHours()),
    M: two(d.getMinutes()),
    S: two(d.getSeconds()),
    '%': '%',
  };
  return String(format).replace(/%(.)/g, (all, c) => codes[c] ?? all);
}

/**
 * The places the library allocates a size a template chooses: String.prototype.repeat
 * ("indent" widths, tojson's indent) and Array.prototype.join (the join filter over a long
 * list of long texts). On this thread, which runs nothing but templates, both are bounded
 * by the text limit of the render under way (and only while the template runs).
 */
let textLimit = Infinity;
const tooLong = (/** @type {number} */ n) => new Stop('size', `the template asked for a text of ${n} characters; the limit is ${textLimit}`);
const repeat = String.prototype.repeat;
String.prototype.repeat = function (/** @type {number} */ count) {
  const n = String(this).length * Number(count);
  if (n > textLimit) throw tooLong(n);
  return repeat.call(this, count);
};
const join = Array.prototype.join;
Array.prototype.join = function (/** @type {string | undefined} */ separator) {
  if (textLimit !== Infinity) {
    const sep = separator === undefined ? 1 : String(separator).length;
    let n = 0;
    for (const x of this) {
      n += (x === null || x === undefined ? 0 : String(x).length) + sep;
      if (n > textLimit + sep) throw tooLong(n - sep);
    }
  }
  return join.call(this, separator);
};

/** Compiled templates by source; a model's own template is compiled once. */
const compiled = new Map();

/** @param {string} source */
function compile(source) {
  let t = compiled.get(source);
  if (t === undefined) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new Stop('syntax', `the template does not parse: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (compiled.size >= 32) compiled.clear();
    compiled.set(source, t);
  }
  return t;
}

/** @param {RenderRequest} req @returns {RenderReply} */
function render(req) {
  const { id, source, context, budget } = req;
  const meter = { steps: 0, deadline: performance.now() + budget.timeoutMs, budget, loops: [] };
  try {
    const template = compile(source);
    // the globals Template.render provides, with range bounded and errors of our own kind
    const env = new Environment();
    env.set('false', false);
    env.set('true', true);
    env.set('none', null);
    env.set('False', false);
    env.set('True', true);
    env.set('None', null);
    env.set('range', boundedRange(budget.maxItems));
    env.set('raise_exception', (/** @type {unknown} */ message) => {
      throw new Raised(String(message));
    });
    env.set('strftime_now', strftimeNow);
    // the request's variables in a scope of their own: a name such as `range` shadows the
    // global for this render instead of failing as a redeclaration
    const scope = new Environment(env);
    for (const [k, v] of Object.entries(context)) scope.set(k, v);
    // (the library's runtime classes reach tsc untyped under NodeNext, hence the cast)
    const interpreter = /** @type {{ run(program: unknown): { value: unknown } }} */ (/** @type {unknown} */ (new MeteredInterpreter(scope, meter)));
    textLimit = budget.maxChars;
    const out = interpreter.run(template.parsed);
    textLimit = Infinity;
    const text = String(out.value);
    if (text.length > budget.maxChars) throw new Stop('size', `the template's output is ${text.length} characters; the limit is ${budget.maxChars}`);
    return { id, ok: true, text, steps: meter.steps };
  } catch (e) {
    textLimit = Infinity;
    if (e instanceof Stop) return { id, ok: false, kind: e.kind, message: e.message };
    if (e instanceof RangeError && /call stack/i.test(e.message)) return { id, ok: false, kind: 'render', message: 'the template recurses too deeply' };
    if (e instanceof RangeError && /string length|array length/i.test(e.message)) return { id, ok: false, kind: 'size', message: `the template built a value too large (${e.message})` };
    return { id, ok: false, kind: 'render', message: e instanceof Error ? e.message : String(e) };
  }
}

port.on('message', (/** @type {RenderRequest} */ req) => send(render(req)));
send({ ready: true });
