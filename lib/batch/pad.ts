// Padding a chunk into the backbone's [B, T] inputs. Position ids count real tokens only, so
// left and right padding give every real token the same position (and the same scores).
import { oneOf } from '../is.js';

export type PadSide = 'left' | 'right';
export const PAD_SIDES: readonly PadSide[] = ['left', 'right'];

export interface PaddedChunk {
  B: number;
  T: number;
  ids: Int32Array;
  mask: Int32Array;
  positions: Int32Array;
  /** Per row, how many pad tokens precede the real ones (0 with right padding). */
  shift: Int32Array;
}

export function padChunk(rows: readonly Int32Array[], side: PadSide, padId: number, positionOffset = 0): PaddedChunk {
  oneOf(side, 'padding', PAD_SIDES);
  const B = rows.length;
  let T = 1;
  for (const r of rows) T = Math.max(T, r.length);
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Int32Array(B * T);
  const positions = new Int32Array(B * T);
  const shift = new Int32Array(B);
  rows.forEach((r, b) => {
    const s = side === 'left' ? T - r.length : 0;
    shift[b] = s;
    ids.set(r, b * T + s);
    for (let t = 0; t < r.length; t++) {
      mask[b * T + s + t] = 1;
      positions[b * T + s + t] = positionOffset + t;
    }
  });
  return { B, T, ids, mask, positions, shift };
}
