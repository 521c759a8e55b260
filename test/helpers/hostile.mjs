// What the hostile-caller scripts share: the compiled kernels (a child process runs plain
// node, so it loads dist/, not the TypeScript sources) and a way to make the collector move
// and reuse memory while a native call still holds its inputs.
import { join } from 'node:path';

export const dist = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'dist', 'kernels');
export const k = await import(join(dist, 'index.js'));
export const { native } = await import(join(dist, 'native.js'));

export const gc = globalThis.gc ?? (() => {});
export const churn = () => {
  for (let i = 0; i < 4; i++) new Float32Array(1 << 21).fill(i);
};
