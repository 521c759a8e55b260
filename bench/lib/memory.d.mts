// Types of memory.mjs, for the tests that import it.
export interface MemorySample {
  t: number;
  [key: string]: number;
}

export interface MemoryPlateau {
  steps: Array<{ t: number; mb: number }>;
  plateau: { fromS: number; toS: number; minMb: number; maxMb: number; meanMb: number } | null;
  slopeMbPerMin: number;
  wholeWindowSlopeMbPerMin: number;
}

export function slopePerMinute(samples: readonly MemorySample[], key: string): number;
export function memoryPlateau(samples: readonly MemorySample[], key: string, options?: { minStep?: number; minPlateau?: number }): MemoryPlateau;
export function describePlateau(p: MemoryPlateau, digits?: number): string;
