// The small pieces: chunk planning, padding, execution-provider probing, weight files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { padChunk, planChunks } from '../../lib/batch/index.js';
import { probeProviders } from '../../lib/backbones/onnx/providers.js';
import { Checkpoint } from '../../lib/model/safetensors.js';
import { floatToBf16, floatToF16 } from '../../lib/kernels/half.js';
import { writeSafetensors } from '../../lib/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('planChunks', () => {
  it('sorts by length and keeps every chunk under the byte, token and batch budgets', () => {
    const lengths = [50, 3, 200, 7, 7, 120, 90, 1, 64, 33];
    const chunks = planChunks(lengths, { bytesPerToken: 100, maxOutputBytes: 100 * 256, maxPaddedTokens: 300, maxBatch: 3 });
    expect(chunks.flatMap((c) => c.items).sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    let prevT = 0;
    for (const c of chunks) {
      expect(c.items.length).toBeLessThanOrEqual(3);
      expect(c.T).toBe(Math.max(...c.items.map((i) => lengths[i])));
      if (c.items.length > 1) {
        expect(c.items.length * c.T).toBeLessThanOrEqual(300);
        expect(c.items.length * c.T * 100).toBeLessThanOrEqual(100 * 256);
      }
      expect(c.T).toBeGreaterThanOrEqual(prevT);
      prevT = c.T;
    }
  });

  it('an item over the budget still gets a chunk of its own', () => {
    expect(planChunks([10, 5000, 20], { bytesPerToken: 4, maxPaddedTokens: 100 })).toEqual([{ items: [0, 2], T: 20 }, { items: [1], T: 5000 }]);
  });

  it('starts a new length bucket when padding would pass maxPadFraction', () => {
    const lengths = [10, 11, 12, 40, 41, 100];
    const chunks = planChunks(lengths, { bytesPerToken: 4, maxPadFraction: 0.25 });
    expect(chunks.map((c) => c.items)).toEqual([[0, 1, 2], [3, 4], [5]]);
    for (const c of chunks) {
      const real = c.items.reduce((a, i) => a + lengths[i], 0);
      expect(c.items.length * c.T - real).toBeLessThanOrEqual(0.25 * c.items.length * c.T);
    }
    expect(planChunks(lengths, { bytesPerToken: 4, maxPadFraction: 1 })).toEqual([{ items: [0, 1, 2, 3, 4, 5], T: 100 }]);
    expect(() => planChunks(lengths, { bytesPerToken: 4, maxPadFraction: 2 })).toThrow(/maxPadFraction must be a number in \[0, 1\], got 2 \(number\)/);
  });

  it('refuses bad budgets', () => {
    expect(() => planChunks([1], { bytesPerToken: 0 })).toThrow(/bytesPerToken/);
    expect(() => planChunks([1], { bytesPerToken: 4, maxBatch: 0 })).toThrow(/maxBatch must be a positive integer/);
  });
});

describe('padChunk', () => {
  const rows = [Int32Array.of(5, 6, 7), Int32Array.of(8)];
  it('right padding: real tokens first, positions from 0', () => {
    const p = padChunk(rows, 'right', 0);
    expect([p.B, p.T]).toEqual([2, 3]);
    expect(Array.from(p.ids)).toEqual([5, 6, 7, 8, 0, 0]);
    expect(Array.from(p.mask)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(Array.from(p.positions)).toEqual([0, 1, 2, 0, 0, 0]);
    expect(Array.from(p.shift)).toEqual([0, 0]);
  });
  it('left padding: same positions for real tokens, shift recorded', () => {
    const p = padChunk(rows, 'left', 9);
    expect(Array.from(p.ids)).toEqual([5, 6, 7, 9, 9, 8]);
    expect(Array.from(p.mask)).toEqual([1, 1, 1, 0, 0, 1]);
    expect(Array.from(p.positions)).toEqual([0, 1, 2, 0, 0, 0]);
    expect(Array.from(p.shift)).toEqual([0, 2]);
    expect(() => padChunk(rows, 'middle' as 'left', 0)).toThrow(/padding must be/);
  });
});

describe('execution providers', () => {
  it('cpu on request; auto says what it picked and why', () => {
    expect(probeProviders('cpu')).toEqual({ providers: ['cpu'], note: 'cpu requested' });
    const auto = probeProviders('auto');
    expect(auto.providers[auto.providers.length - 1]).toBe('cpu');
    if (auto.providers[0] === 'cuda') {
      expect(auto.providers).toEqual(['cuda', 'cpu']);
      expect(auto.note).toMatch(/^cuda provider found at .*onnxruntime_providers_cuda/);
      expect(probeProviders('cuda').providers).toEqual(['cuda']);
    } else {
      expect(auto).toEqual({ providers: ['cpu'], note: 'cuda provider not installed; using cpu' });
      expect(() => probeProviders('cuda')).toThrow(/CUDA provider is not installed/);
    }
  });
});

describe('safetensors', () => {
  it('reads F32, F16 and BF16 tensors by name and rejects what it cannot read', () => {
    const f32 = join(dir, 'a.safetensors');
    writeSafetensors(f32, { 'score.weight': { shape: [2, 3], data: Float32Array.of(1, -2, 0.5, 3, 4, -0.25) }, 'score.bias': { shape: [2], data: Float32Array.of(0.1, 0.2) } });
    const file = Checkpoint.file(f32, 'head: ');
    expect(file.tensor('score.weight')).toEqual({ shape: [2, 3], data: Float32Array.of(1, -2, 0.5, 3, 4, -0.25) });
    expect([...file.tensors.keys()].sort()).toEqual(['score.bias', 'score.weight']);
    expect(() => file.tensor('nope')).toThrow(/^head: .* has no tensor 'nope'/);
    // hand-made 16-bit files
    for (const [dtype, conv] of [['F16', floatToF16], ['BF16', floatToBf16]] as const) {
      const vals = [1, -2, 0.5, 3];
      const header = Buffer.from(JSON.stringify({ w: { dtype, shape: [4], data_offsets: [0, 8] } }));
      const buf = Buffer.alloc(8 + header.length + 8);
      buf.writeBigUInt64LE(BigInt(header.length), 0);
      header.copy(buf, 8);
      vals.forEach((v, i) => buf.writeUInt16LE(conv(v), 8 + header.length + 2 * i));
      const p = join(dir, `${dtype}.safetensors`);
      writeFileSync(p, buf);
      expect(Array.from(Checkpoint.file(p).read('w'))).toEqual(vals);
    }
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'not a safetensors file at all');
    expect(() => Checkpoint.file(junk)).toThrow(/not a safetensors file/);
    // a file cut inside a tensor is an error naming the tensor, never zeros: at open, and
    // when it is cut after the header was read
    const cut = join(dir, 'cut.safetensors');
    writeSafetensors(cut, { w: { shape: [4, 4], data: new Float32Array(16).fill(1) } });
    const whole = readFileSync(cut);
    writeFileSync(cut, whole.subarray(0, whole.length - 12));
    expect(() => Checkpoint.file(cut)).toThrow(/tensor 'w' byte range \[0, 64\) ends past the end of the file \(52 data bytes\)/);
    writeFileSync(cut, whole);
    const opened = Checkpoint.file(cut);
    writeFileSync(cut, whole.subarray(0, whole.length - 12));
    expect(() => opened.read('w')).toThrow(/ends inside tensor 'w': the file ends 12 bytes early/);
  });
});
