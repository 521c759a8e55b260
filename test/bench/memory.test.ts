// How the server benchmark reads memory under load: a one-time step is not a leak, an even
// climb is. Checked on series whose answer is known by construction.
import { describe, expect, it } from 'vitest';
import { memoryPlateau } from '../../bench/lib/memory.mjs';

const series = (f: (t: number) => number, n = 31) => Array.from({ length: n }, (_, i) => ({ t: 2 * i, rssMb: f(2 * i) }));
// a little deterministic jitter, as sampled memory has
const jitter = (t: number) => ((t * 7919) % 13) / 26;

describe('memory under load', () => {
  it('a step that stays: the plateau after it is flat, though a line across the window climbs', () => {
    const p = memoryPlateau(series((t) => 600 + (t >= 20 ? 80 : 0) + jitter(t)), 'rssMb');
    expect(p.steps).toEqual([{ t: 20, mb: expect.closeTo(80, 0) }]);
    expect(p.plateau).toMatchObject({ fromS: 20, toS: 60 });
    expect(p.plateau!.minMb).toBeGreaterThan(679);
    expect(Math.abs(p.slopeMbPerMin)).toBeLessThan(1);
    expect(p.wholeWindowSlopeMbPerMin).toBeGreaterThan(60);
  });

  it('an even climb (a leak) has no step, and its slope is the leak rate', () => {
    const p = memoryPlateau(series((t) => 600 + t + jitter(t)), 'rssMb');
    expect(p.steps).toEqual([]);
    expect(p.slopeMbPerMin).toBeCloseTo(60, 0);
  });

  it('a step too late in the window leaves no plateau to read yet', () => {
    const p = memoryPlateau(series((t) => 600 + (t >= 56 ? 80 : 0)), 'rssMb');
    expect(p.plateau).toBeNull();
    expect(p.steps).toHaveLength(1);
  });
});
