// The GRPO advantages kernel in the kernel benchmark: native cpu (all threads and one) and
// the js reference on one batch of groups, against this machine's write+read roofline for
// the same bytes. Each iteration writes the next of 8 output buffers, so the writes go to
// memory, not cache, as they would for a fresh batch.
import { grpoAdvantagesSync } from '../../dist/kernels/index.js';
import { rng } from './random.mjs';

const SETS = 8;

/** G groups of R responses with S steps over T tokens each; step ends spread over the response. */
export function advantageBatch(seed, G, R, S, T) {
  const r = rng(seed);
  const n = G * R;
  const stepRewards = new Float32Array(n * S);
  const stepEnds = new Int32Array(n * S);
  const stepOffsets = new Int32Array(n + 1);
  const responseTokens = new Int32Array(n).fill(T);
  const responseOffsets = Int32Array.from({ length: G + 1 }, (_, g) => g * R);
  const stride = T / S;
  for (let i = 0; i < n; i++) {
    stepOffsets[i + 1] = (i + 1) * S;
    for (let k = 0; k < S; k++) {
      stepRewards[i * S + k] = r();
      stepEnds[i * S + k] = Math.min(T - 1, Math.floor(k * stride + r() * stride));
    }
  }
  return { stepRewards, stepOffsets, responseOffsets, stepEnds, responseTokens };
}

export async function benchAdvantages({ runSuite, quick, binding, threads }) {
  const [G, R, S, T] = quick ? [32, 8, 12, 256] : [256, 16, 24, 1024];
  const batch = advantageBatch(7, G, R, S, T);
  const tokens = G * R * T;
  const outs = Array.from({ length: SETS }, () => new Float32Array(tokens));
  const readBytes = batch.stepRewards.byteLength + batch.stepEnds.byteLength + batch.stepOffsets.byteLength + batch.responseTokens.byteLength + batch.responseOffsets.byteLength;
  const writeBytes = tokens * 4;

  // roofline: the same bytes read (readBytes) and written (writeBytes) in 8 disjoint regions
  const readRegions = outs.map((o) => o.subarray(0, Math.ceil(readBytes / 4)));
  let w = 0, rd = 0;
  const roof = await runSuite([
    ['write', () => binding.writeBytes({ data: outs[w++ % SETS], threads: 0 })],
    ['read', () => binding.readBytes({ data: readRegions[rd++ % SETS], threads: 0 })],
  ]);
  const writeGBps = writeBytes / (roof.write / 1000) / 1e9;
  const readGBps = readBytes / (roof.read / 1000) / 1e9;
  const roofMs = roof.write + roof.read;

  let i1 = 0, i2 = 0, i3 = 0, i4 = 0;
  const run = (mode, o) => () => grpoAdvantagesSync(batch, { mode, ...o });
  const times = await runSuite([
    ['process cpu', () => run('process', { backend: 'cpu', out: outs[i1++ % SETS] })()],
    ['process cpu-1t', () => run('process', { backend: 'cpu', threads: 1, out: outs[i2++ % SETS] })()],
    ['process js', () => run('process', { backend: 'js', out: outs[i3++ % SETS] })()],
    ['outcome cpu', () => run('outcome', { backend: 'cpu', out: outs[i4++ % SETS] })()],
  ]);
  let i5 = 0;
  Object.assign(times, await runSuite([['outcome js', () => run('outcome', { backend: 'js', out: outs[i5++ % SETS] })()]]));

  const name = `${G}x${R}x${S} steps x${T} tokens`;
  const table = ['process', 'outcome'].map((mode) => {
    const cpu = times[`${mode} cpu`];
    const row = {
      case: `${name} ${mode}`,
      'MB w+r': ((writeBytes + readBytes) / 1e6).toFixed(1),
      'cpu ms': cpu.toFixed(3),
      'cpu-1t ms': mode === 'process' ? times['process cpu-1t'].toFixed(3) : '-',
      'js ms': times[`${mode} js`].toFixed(2),
      'roof ms': roofMs.toFixed(3),
      '% roof': ((roofMs / cpu) * 100).toFixed(0) + '%',
      'x js': (times[`${mode} js`] / cpu).toFixed(1),
    };
    return row;
  });
  const result = {
    shape: { groups: G, responsesPerGroup: R, stepsPerResponse: S, tokensPerResponse: T, tokens },
    bytes: { read: readBytes, written: writeBytes },
    roofline: { writeGBps: +writeGBps.toFixed(3), readGBps: +readGBps.toFixed(3), ms: +roofMs.toFixed(4) },
    threads,
    medianMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +v.toFixed(4)])),
  };
  return { table, result };
}
