// Rotary frequencies as transformers computes them (float32 at every step, so positions far
// into a long chain land on the same angles), including Llama 3.1's frequency scaling.
import type { RopeSpec } from './config.js';

export function inverseFrequencies(rope: RopeSpec, headDim: number): Float32Array {
  const half = headDim / 2;
  const f = Math.fround;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(Math.pow(rope.theta, f(f(2 * i) / headDim))));
  if (rope.linearFactor) for (let i = 0; i < half; i++) inv[i] = f(inv[i] / rope.linearFactor);
  const l3 = rope.llama3;
  if (l3) {
    const lowWavelen = l3.originalMaxPositions / l3.lowFreqFactor;
    const highWavelen = l3.originalMaxPositions / l3.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const wavelen = f((2 * Math.PI) / inv[i]);
      let v = wavelen > lowWavelen ? f(inv[i] / l3.factor) : inv[i];
      if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
        const smooth = f(f(l3.originalMaxPositions / wavelen - l3.lowFreqFactor) / (l3.highFreqFactor - l3.lowFreqFactor));
        v = f(f(f(1 - smooth) * v) / l3.factor + f(smooth * v));
      }
      inv[i] = v;
    }
  }
  return inv;
}
