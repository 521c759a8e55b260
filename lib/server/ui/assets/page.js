// The scoring page. Plain DOM code, no framework and no build step; it talks to the service
// only through its public JSON routes: GET /v1/prm/info (is the model a PRM or an ORM, its
// format, backend, aggregations, threshold), POST /v1/prm/score for a PRM (every step's
// probability, every aggregate, the first error; an implicit PRM's step rewards instead of
// probabilities) and POST /v1/rerank for an ORM (one score per whole solution, ranked by the
// service). Text from the user or the service is only
// ever set as textContent.

const KEY_STORE = 'prmkit-api-key';
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  key: sessionStorage.getItem(KEY_STORE) ?? '',
  /** The answer of GET /v1/prm/info. */
  info: null,
  /** The last scored request and its answer, re-ranked locally when the aggregation changes. */
  last: null,
};

class KeyNeeded extends Error {}

/** GET (no body) or POST JSON to the service; a 401 asks for the key, other errors say the service's message. */
async function api(path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (state.key) headers.authorization = `Bearer ${state.key}`;
  const res = await fetch(path, { method: body === undefined ? 'GET' : 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => null);
  if (res.status === 401) throw new KeyNeeded(data?.error?.message ?? 'an API key is needed');
  if (!res.ok) throw new Error(data?.error?.message ?? `the service answered ${res.status}`);
  return data;
}

function say(text, kind = '') {
  const s = $('status');
  s.textContent = text;
  s.className = kind;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

/** Steps of a solution text: trimmed, empty ones dropped (as the service's own splitter does). */
function splitSteps(text, mode) {
  const blank = /\n[ \t]*\n/;
  const by = mode === 'lines' || (mode === 'auto' && !blank.test(text.trim())) ? /\n+/ : /\n[ \t]*\n+/;
  return text.split(by).map((s) => s.trim()).filter((s) => s.length > 0);
}

// ---- the model ----------------------------------------------------------------------------

function askForKey(message) {
  const form = $('key-form');
  form.hidden = false;
  $('key-why').textContent = state.key ? `The service refused the key: ${message}` : 'This service needs an API key (prmkit serve --api-key).';
  /** @type {HTMLInputElement} */ ($('api-key')).focus();
  say('Enter the API key to continue.', 'error');
}

function showModel(info) {
  const line = $('model-line');
  line.textContent = '';
  const parts = [
    ['model', info.model],
    ['kind', info.kind === 'orm' ? 'ORM: one score per solution' : info.rewards ? 'implicit PRM: a reward per step' : 'PRM: a score per step'],
    ['format', info.format ?? 'not given'],
    ['backbone', info.backend ?? 'not given'],
    ['kernels', info.kernels],
  ];
  const dl = el('dl', { id: 'model-info' });
  for (const [k, v] of parts) dl.append(el('div', {}, el('dt', { text: k }), el('dd', { text: v })));
  line.replaceWith(dl);
  document.body.dataset.kind = info.kind;
  const select = /** @type {HTMLSelectElement} */ ($('aggregate'));
  select.textContent = '';
  for (const a of info.aggregations) select.append(el('option', { value: a, text: a, selected: a === info.defaultAggregate }));
  // an implicit PRM's steps carry rewards (log-likelihood ratios), not probabilities: its
  // threshold is a reward (the service's default 0), any number
  const threshold = /** @type {HTMLInputElement} */ ($('threshold'));
  if (info.rewards) {
    threshold.removeAttribute('min');
    threshold.removeAttribute('max');
    threshold.value = '0';
    $('threshold-text').textContent = 'First error: reward below';
  } else threshold.value = String(info.errorThreshold);
}

async function loadInfo() {
  try {
    state.info = await api('/v1/prm/info');
  } catch (err) {
    if (err instanceof KeyNeeded) return askForKey(err.message);
    say(`Cannot reach the service: ${err.message}`, 'error');
    return;
  }
  $('key-form').hidden = true;
  showModel(state.info);
  say('');
}

// ---- the inputs ---------------------------------------------------------------------------

function candidateBoxes() {
  return /** @type {HTMLTextAreaElement[]} */ ([...document.querySelectorAll('#candidates textarea')]);
}

function renumber() {
  const boxes = document.querySelectorAll('#candidates .candidate');
  boxes.forEach((box, i) => {
    const id = `candidate-${i + 1}`;
    box.querySelector('label').textContent = `Candidate ${i + 1}`;
    box.querySelector('label').htmlFor = id;
    box.querySelector('textarea').id = id;
    const remove = /** @type {HTMLButtonElement} */ (box.querySelector('.remove'));
    remove.setAttribute('aria-label', `Remove candidate ${i + 1}`);
    remove.disabled = boxes.length === 1;
  });
}

function addCandidate(text = '', focus = false) {
  const t = /** @type {HTMLTemplateElement} */ ($('candidate-input'));
  const box = /** @type {HTMLElement} */ (t.content.firstElementChild.cloneNode(true));
  const area = box.querySelector('textarea');
  area.value = text;
  box.querySelector('.remove').addEventListener('click', () => {
    const boxes = candidateBoxes();
    const at = boxes.indexOf(area);
    box.remove();
    renumber();
    (candidateBoxes()[Math.max(0, at - 1)] ?? $('add-candidate')).focus();
  });
  $('candidates').append(box);
  renumber();
  if (focus) area.focus();
}

function fill(example, announce = true) {
  /** @type {HTMLTextAreaElement} */ ($('problem')).value = example.problem;
  $('candidates').textContent = '';
  for (const c of example.candidates) addCandidate(c);
  if (announce) say(`Example loaded: ${example.title}. Press Score.`);
}

async function loadExamples() {
  const res = await fetch('/ui/examples.json').catch(() => null);
  const examples = res && res.ok ? await res.json() : [];
  for (const ex of examples) $('examples').append(el('button', { type: 'button', text: ex.title, onclick: () => fill(ex) }));
  if (examples.length > 0) fill(examples[0], false);
  else addCandidate();
}

// ---- scoring ------------------------------------------------------------------------------

/** Indices best first by `scores`: descending, NaN last, ties by index, in float32 as the service ranks. */
function rankOrder(scores) {
  const key = scores.map((s) => (typeof s === 'number' ? Math.fround(s) : NaN));
  return key
    .map((_, i) => i)
    .sort((a, b) => {
      const x = key[a], y = key[b];
      if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) === Number.isNaN(y) ? a - b : Number.isNaN(x) ? 1 : -1;
      return x === y ? a - b : y - x;
    });
}

async function score(event) {
  event?.preventDefault();
  if (!state.info) return loadInfo();
  const problem = /** @type {HTMLTextAreaElement} */ ($('problem')).value.trim();
  const mode = /** @type {HTMLSelectElement} */ ($('splitter')).value;
  const texts = candidateBoxes().map((a) => a.value);
  const steps = texts.map((t) => splitSteps(t, mode));
  if (problem.length === 0) return invalid($('problem'), 'Enter a problem.');
  const empty = steps.findIndex((s) => s.length === 0);
  if (empty >= 0) return invalid(candidateBoxes()[empty], `Candidate ${empty + 1} has no steps.`);
  const orm = state.info.kind === 'orm';
  const implicit = !orm && state.info.rewards !== undefined;
  const typed = /** @type {HTMLInputElement} */ ($('threshold')).value.trim();
  const threshold = typed === '' ? (implicit ? 0 : state.info.errorThreshold) : Number(typed);
  if (implicit && !Number.isFinite(threshold)) return invalid($('threshold'), 'The first-error threshold must be a number (a reward).');
  if (!orm && !implicit && !(threshold > 0 && threshold < 1)) return invalid($('threshold'), 'The first-error threshold must be a number between 0 and 1.');
  const button = /** @type {HTMLButtonElement} */ ($('score'));
  button.disabled = true;
  say(`Scoring ${texts.length} candidate${texts.length === 1 ? '' : 's'}…`);
  try {
    if (orm) {
      const answer = await api('/v1/rerank', { query: problem, documents: texts.map((t) => t.trim()), return_documents: false });
      state.last = { kind: 'orm', texts, answer };
    } else {
      const body = { items: steps.map((s) => ({ problem, steps: s })), aggregate: /** @type {HTMLSelectElement} */ ($('aggregate')).value };
      body[implicit ? 'rewardThreshold' : 'errorThreshold'] = threshold;
      const answer = await api('/v1/prm/score', body);
      state.last = { kind: 'prm', implicit, steps, threshold, answer };
    }
  } catch (err) {
    if (err instanceof KeyNeeded) return askForKey(err.message);
    return say(err.message, 'error');
  } finally {
    button.disabled = false;
  }
  render();
  say(`Scored ${texts.length} candidate${texts.length === 1 ? '' : 's'} (${tokensOf(state.last.answer)} tokens).`);
  $('results-heading').focus();
}

function tokensOf(answer) {
  return answer.usage?.tokens ?? answer.usage?.total_tokens ?? '?';
}

function invalid(field, message) {
  say(message, 'error');
  field.focus();
}

// ---- results ------------------------------------------------------------------------------

/** Three decimals, or three significant digits below 0.1 (chain products get small). */
const fmt = (p) => (typeof p !== 'number' || !Number.isFinite(p) ? 'n/a' : Math.abs(p) >= 0.1 || p === 0 ? p.toFixed(3) : p.toPrecision(3));

/**
 * A bar from red (0) to green (1) with the value beside it; the value is the readable part.
 * A reward (`scale` given: the largest |reward| shown) fills from the middle of the range:
 * -scale is an empty red bar, 0 half, +scale a full green one.
 */
function bar(p, scale) {
  const q = scale === undefined || typeof p !== 'number' ? p : 0.5 + (0.5 * p) / scale;
  const v = typeof q === 'number' && Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 0;
  const fill = el('span', { class: 'fill' });
  fill.style.setProperty('--p', String(v));
  return el('span', { class: 'meter' }, el('span', { class: 'track', 'aria-hidden': 'true' }, fill), el('span', { class: 'value', text: fmt(p), title: String(p) }));
}

function render() {
  const last = state.last;
  const list = $('ranking');
  list.textContent = '';
  const results = $('results');
  results.hidden = false;
  // counts renders, so a script driving the page can wait for the next one
  results.dataset.run = String(Number(results.dataset.run ?? 0) + 1);
  if (last.kind === 'orm') {
    $('results-note').textContent = 'An outcome reward model: one score per whole solution, ranked by the service.';
    for (const [r, res] of last.answer.results.entries()) {
      const text = last.texts[res.index].trim();
      list.append(
        el('li', { class: 'result', 'data-index': String(res.index), 'data-rank': String(r + 1) },
          el('h3', { text: `Candidate ${res.index + 1}` }),
          el('p', { class: 'chain-score' }, el('span', { text: 'score ' }), bar(res.relevance_score)),
          el('pre', { class: 'solution', text })),
      );
    }
    return;
  }
  const how = /** @type {HTMLSelectElement} */ ($('aggregate')).value;
  const chains = last.answer.results;
  const order = rankOrder(chains.map((r) => r.aggregates[how]));
  // an implicit PRM's rewards share one scale, so bars compare across candidates
  const scale = last.implicit ? Math.max(1e-9, ...chains.flatMap((r) => (r.stepRewards ?? []).map(Math.abs))) : undefined;
  $('results-note').textContent = last.implicit
    ? `Ranked by ${how}; an implicit PRM: each step's reward (not a probability), an error when below ${last.threshold}.`
    : `Ranked by ${how}; a step is an error when its probability is below ${last.threshold}.`;
  order.forEach((i, r) => list.append(chainResult(chains[i], last.steps[i], r + 1, how, scale)));
}

function chainResult(res, steps, rank, how, scale) {
  const fe = res.firstError;
  const aggs = el('dl', { class: 'aggregates' });
  for (const a of state.info.aggregations) {
    aggs.append(el('div', { class: a === how ? 'chosen' : '' }, el('dt', { text: a }), el('dd', { text: fmt(res.aggregates[a]) })));
  }
  const values = res.stepRewards ?? res.stepProbs;
  const list = el('ol', { class: 'steps' });
  steps.forEach((text, k) => {
    const p = values[k];
    const li = el('li', { class: k === fe ? 'step first-error' : k > fe && fe >= 0 ? 'step after-error' : 'step', 'data-step': String(k + 1) },
      el('span', { class: 'step-no', text: `${k + 1}.` }),
      el('span', { class: 'step-text', text }),
      p === undefined ? el('span', { class: 'value', text: 'not scored (cut to fit the context)' }) : bar(p, scale));
    if (k === fe) li.prepend(el('strong', { class: 'badge', text: 'first error' }));
    list.append(li);
  });
  const verdict = fe >= 0 ? `first error: step ${fe + 1}` : 'no step below the threshold';
  return el('li', { class: 'result', 'data-index': String(res.index), 'data-rank': String(rank), 'data-first-error': String(fe) },
    el('h3', { text: `Candidate ${res.index + 1}` }),
    el('p', { class: 'chain-score' }, el('span', { text: `${how} ` }), bar(res.aggregates[how], scale), el('span', { class: fe >= 0 ? 'verdict bad' : 'verdict', text: verdict })),
    aggs,
    list,
    res.truncated ? el('p', { class: 'muted', text: 'The chain was cut to fit the model\'s context.' }) : null);
}

// ---- wiring -------------------------------------------------------------------------------

function start() {
  $('score-form').addEventListener('submit', score);
  $('score-form').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) score(e);
  });
  $('add-candidate').addEventListener('click', () => addCandidate('', true));
  $('aggregate').addEventListener('change', () => {
    if (state.last?.kind === 'prm') render();
  });
  $('key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.key = /** @type {HTMLInputElement} */ ($('api-key')).value.trim();
    sessionStorage.setItem(KEY_STORE, state.key);
    void loadInfo();
  });
  void loadExamples();
  void loadInfo();
}

start();
