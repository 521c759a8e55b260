// Callers that rewrite or transfer the advantages kernel's arrays once its Promise form has
// returned. Run by advantages.test.ts in a child process (node --expose-gc
// test/rewards/hostile-advantages.mjs CASE), because the failure this guards against is the
// process dying: each case prints one JSON line with what it saw and exits 0.
import { churn, gc, k, native } from '../helpers/hostile.mjs';

// G groups of R responses, `steps` steps each over T tokens: 4M output tokens, so the
// native call is still running when the caller gets control back
function batch(G = 512, R = 16, steps = 24, T = 512) {
  const rewards = new Float32Array(G * R * steps);
  for (let i = 0; i < rewards.length; i++) rewards[i] = ((i * 2654435761) % 1000) / 1000;
  return {
    stepRewards: rewards,
    stepOffsets: Int32Array.from({ length: G * R + 1 }, (_, r) => r * steps),
    responseOffsets: Int32Array.from({ length: G + 1 }, (_, g) => g * R),
    stepEnds: Int32Array.from({ length: G * R * steps }, (_, s) => Math.floor(((s % steps) * T) / steps)),
    responseTokens: new Int32Array(G * R).fill(T),
  };
}

const KEYS = ['stepRewards', 'stepOffsets', 'responseOffsets', 'stepEnds', 'responseTokens'];
const clone = (b) => Object.fromEntries(KEYS.map((key) => [key, b[key].slice()]));
const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
// structuredClone with a transfer list detaches the original (what ArrayBuffer.prototype.transfer does)
const transfer = (buf) => structuredClone(buf, { transfer: [buf] });
const backends = native().binding ? ['cpu', 'js'] : ['js'];

const cases = {
  // every input array is filled with values that would index out of bounds, right after the call
  async 'mutate'() {
    const out = {};
    for (const backend of backends)
      for (const mode of ['process', 'outcome']) {
        const b = batch();
        const expected = k.grpoAdvantagesSync(clone(b), { backend, mode });
        const p = k.grpoAdvantages(b, { backend, mode });
        b.stepRewards.fill(NaN);
        for (const key of KEYS.slice(1)) b[key].fill(0x7fffffff);
        out[`${backend} ${mode}`] = same(await p, expected);
      }
    return out;
  },

  // every input buffer transferred away and the new owners collected while the call runs
  async 'transfer'() {
    const out = {};
    for (const backend of backends) {
      const b = batch();
      const expected = k.grpoAdvantagesSync(clone(b), { backend });
      const p = k.grpoAdvantages(b, { backend });
      let moved = KEYS.map((key) => transfer(b[key].buffer));
      moved = null;
      for (let i = 0; i < 3; i++) {
        gc();
        churn();
        await new Promise((r) => setTimeout(r, 1));
      }
      out[backend] = { detached: KEYS.every((key) => b[key].length === 0), same: same(await p, expected), moved };
    }
    // the raw binding's output, transferred and collected while pool threads write it
    if (native().binding) {
      const b = batch();
      const total = b.responseTokens.reduce((a, t) => a + t, 0);
      const args = { ...b, out: new Float32Array(total), mode: 'process', std: 'sample', eps: 1e-6, threads: 0 };
      const p = native().binding.advantages(args);
      let gone = transfer(args.out.buffer);
      gone = null;
      gc();
      churn();
      await p;
      out['raw out'] = { detached: args.out.length === 0, gone };
    }
    return out;
  },

  // a resizable buffer shrunk right after the call: refused up front, the same TypeError everywhere
  async 'resizable'() {
    const b = batch(2, 3, 2, 4);
    const rab = new ArrayBuffer(b.stepRewards.byteLength, { maxByteLength: b.stepRewards.byteLength * 2 });
    const stepRewards = new Float32Array(rab, 0, b.stepRewards.length);
    stepRewards.set(b.stepRewards);
    const errors = {};
    const attempt = async (name, start) => {
      try {
        const p = start();
        rab.resize(0);
        await p;
        errors[name] = 'accepted';
      } catch (e) {
        errors[name] = `${e.constructor.name}: ${e.message}`;
      }
      rab.resize(b.stepRewards.byteLength);
    };
    for (const backend of backends) await attempt(backend, () => k.grpoAdvantages({ ...b, stepRewards }, { backend }));
    if (native().binding) {
      const total = b.responseTokens.reduce((a, t) => a + t, 0);
      await attempt('raw', () => native().binding.advantages({ ...b, stepRewards, out: new Float32Array(total), mode: 'process', std: 'sample', eps: 1e-6, threads: 0 }));
    }
    errors.pinned = native().binding ? native().binding.info().pinned : null;
    return errors;
  },
};

const name = process.argv[2];
if (!cases[name]) {
  console.error(`usage: hostile-advantages.mjs ${Object.keys(cases).join('|')}`);
  process.exit(2);
}
console.log(JSON.stringify(await cases[name]()));
