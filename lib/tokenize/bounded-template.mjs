// @ts-check
// A chat template rendered under a budget. A template is a program: a checkpoint's or a
// request's own one may loop a billion times or double a string until the heap is gone, and
// even an honest one runs as long as its input makes it. Here every evaluated node costs a
// step, every string and list the template builds is measured as it is built, `range(n)` is
// refused before its list exists, and `repeat`/`join` (the places the library allocates a
// size a template chooses) are refused before they allocate. The service renders on a worker
// thread under a clock too (lib/server/chat/template-worker.mjs); PrmTokenizer renders in
// process under steps and sizes alone, which give the same answer on a loaded machine.
import { Environment, Interpreter, Template } from '@huggingface/jinja';

/**
 * How far one render may go. `timeoutMs` is read only where a clock is wanted (the service's
 * worker); steps and sizes alone make a render's outcome independent of the machine's load.
 * @typedef {object} TemplateBudget
 * @property {number} maxSteps Interpreter steps (one per evaluated node of the template).
 * @property {number} timeoutMs Wall-clock time of one render (Infinity: no clock).
 * @property {number} maxChars Characters of any one string the template builds, the output included.
 * @property {number} maxItems Items of any one list the template builds (`range(n)` included, checked before it is built).
 */

/**
 * Why a render stopped: `syntax` (the template does not parse), `render` (it raised or failed
 * on its input), or past a bound (`steps`, `time`, `size`).
 * @typedef {'syntax' | 'render' | 'steps' | 'time' | 'size'} TemplateFailureKind
 */

/** A render that did not produce its text, and why. */
export class TemplateError extends Error {
  /** @param {TemplateFailureKind} kind @param {string} message */
  constructor(kind, message) {
    super(message);
    this.name = 'TemplateError';
    /** @type {TemplateFailureKind} */
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
    if (++m.steps > m.budget.maxSteps) throw new TemplateError('steps', `the template took more than ${m.budget.maxSteps} steps`);
    if ((m.steps & 255) === 0 && performance.now() > m.deadline) throw new TemplateError('time', `the template ran longer than ${m.budget.timeoutMs} ms`);
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
      if (loop.chars > max) throw new TemplateError('size', `a loop of the template wrote more than ${max} characters; the limit is ${max}`);
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
      if (n > m.budget.maxChars) throw new TemplateError('size', `the template built a text of ${n} characters; the limit is ${m.budget.maxChars}`);
    } else if (v.type === 'ArrayValue' || v.type === 'TupleValue') {
      const n = /** @type {unknown[]} */ (v.value).length;
      if (n > m.budget.maxItems) throw new TemplateError('size', `the template built a list of ${n} items; the limit is ${m.budget.maxItems}`);
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
    if (count > max) throw new TemplateError('size', `range() of ${count} items; the limit is ${max}`);
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

const repeat = String.prototype.repeat;
const join = Array.prototype.join;

/**
 * Runs `fn` with String.prototype.repeat ("indent" widths, tojson's indent, `'x' * n`) and
 * Array.prototype.join (the join filter over a long list of long texts) refusing a result
 * over `limit` characters before they allocate it. A render is synchronous, so nothing but
 * the template sees them; they are put back before anything else runs.
 * @template T
 * @param {number} limit
 * @param {() => T} fn
 * @returns {T}
 */
function withBoundedAllocation(limit, fn) {
  const tooLong = (/** @type {number} */ n) => new TemplateError('size', `the template asked for a text of ${n} characters; the limit is ${limit}`);
  String.prototype.repeat = function (/** @type {number} */ count) {
    const n = String(this).length * Number(count);
    if (n > limit) throw tooLong(n);
    return repeat.call(this, count);
  };
  Array.prototype.join = function (/** @type {string | undefined} */ separator) {
    const sep = separator === undefined ? 1 : String(separator).length;
    let n = 0;
    for (const x of this) {
      n += (x === null || x === undefined ? 0 : String(x).length) + sep;
      if (n > limit + sep) throw tooLong(n - sep);
    }
    return join.call(this, separator);
  };
  try {
    return fn();
  } finally {
    String.prototype.repeat = repeat;
    Array.prototype.join = join;
  }
}

/**
 * A compiled template, as this module's callers see it: its parsed program and nothing of the
 * template library's types, so that the declarations a consumer reads never load that
 * library's own (which do not type-check under every consumer's settings).
 * @typedef {{ readonly parsed: unknown }} CompiledTemplate
 */

/**
 * A template compiled from its source; a source that does not parse is a TemplateError of kind 'syntax'.
 * @param {string} source
 * @returns {CompiledTemplate}
 */
export function compileTemplate(source) {
  try {
    return new Template(source);
  } catch (e) {
    throw new TemplateError('syntax', `the template does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Renders `template` with `context` under `budget`. Every failure is a TemplateError: past a
 * bound (steps, time, size), the template's own raise_exception or another failure on its
 * input (render); a template that recurses past the stack is one too.
 * @param {CompiledTemplate} template
 * @param {Record<string, unknown>} context the template's variables: messages, add_generation_prompt, bos_token, ...
 * @param {TemplateBudget} budget
 * @returns {{ text: string, steps: number }}
 */
export function renderBounded(template, context, budget) {
  /** @type {Meter} */
  const meter = { steps: 0, deadline: performance.now() + budget.timeoutMs, budget, loops: [] };
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
  // the caller's variables in a scope of their own: a name such as `range` shadows the
  // global for this render instead of failing as a redeclaration
  const scope = new Environment(env);
  for (const [k, v] of Object.entries(context)) scope.set(k, v);
  // (the library's runtime classes reach tsc untyped under NodeNext, hence the cast)
  const interpreter = /** @type {{ run(program: unknown): { value: unknown } }} */ (/** @type {unknown} */ (new MeteredInterpreter(scope, meter)));
  try {
    const out = withBoundedAllocation(budget.maxChars, () => interpreter.run(template.parsed));
    const text = String(out.value);
    if (text.length > budget.maxChars) throw new TemplateError('size', `the template's output is ${text.length} characters; the limit is ${budget.maxChars}`);
    return { text, steps: meter.steps };
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    if (e instanceof RangeError && /call stack/i.test(e.message)) throw new TemplateError('render', 'the template recurses too deeply');
    if (e instanceof RangeError && /string length|array length/i.test(e.message)) throw new TemplateError('size', `the template built a value too large (${e.message})`);
    throw new TemplateError('render', e instanceof Error ? e.message : String(e));
  }
}
