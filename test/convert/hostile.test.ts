// Hostile and broken checkpoints and output folders, on tiny checkpoints (no shared data):
// the converter reads and writes only inside its folders, never through a symlink that leaves
// them, checks every byte range and shape before reading, sizes nothing by a config number
// alone, recovers from its own failed runs, and answers every bad input with an error that
// names the file and the field. The last test fuzzes headers and configs with a seed.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { mulberry32 } from '../../lib/random.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import { describeWhen, hasDist } from '../helpers/index.js';
import { mainJs } from '../cli/helpers.js';

const root = mkdtempSync(join(tmpdir(), 'prmkit-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(root, `${name}-${n++}`);
const tiny = (o: { format?: 'math-shepherd' | 'skywork' } = {}) => createTinyCheckpoint({ dir: fresh('ck'), layers: 1, hidden: 16, seed: 2, ...o }).dir;

/** What a JavaScript engine says when prmkit did not check something first. */
const INTERNAL = /Cannot read prop|is not a function|is not iterable|Invalid typed array length|Invalid array length|Maximum call stack|Cannot convert undefined|Array buffer allocation|Unexpected token|out of memory|undefined \(reading/i;

/** A safetensors file from a header object (or raw header text) and data bytes. */
function rawSafetensors(path: string, header: unknown, data: Buffer): void {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const h = Buffer.from(text + ' '.repeat((8 - (text.length % 8)) % 8));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(path, Buffer.concat([len, h, data]));
}

/** The tiny checkpoint's header and data section. */
function split(dir: string): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>; data: Buffer } {
  const buf = readFileSync(join(dir, 'model.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + n).toString()), data: buf.subarray(8 + n) };
}

async function refusal(input: string, output = fresh('out')): Promise<Error> {
  try {
    await convert({ input, output });
  } catch (e) {
    expect(existsSync(output)).toBe(false);
    return e as Error;
  }
  throw new Error('converted');
}

describe('the output folder (symlinks, temporary names, failed runs)', () => {
  it('--force over an earlier output replaces symlinks left there; it never writes through them', async () => {
    const ck = tiny();
    const out = fresh('out');
    await convert({ input: ck, output: out });
    const victims = ['tokenizer.json', 'model.onnx.data.partial', 'model.onnx', 'tokenizer_config.json.partial'].map((name, i) => {
      const victim = join(root, `victim-${n}-${i}`);
      writeFileSync(victim, 'precious');
      rmSync(join(out, name), { force: true });
      symlinkSync(victim, join(out, name));
      return victim;
    });
    await convert({ input: ck, output: out, overwrite: true });
    for (const v of victims) expect(readFileSync(v, 'utf8')).toBe('precious');
    for (const f of ['tokenizer.json', 'model.onnx']) expect(lstatSync(join(out, f)).isSymbolicLink()).toBe(false);
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('a prmkit.json that is a symlink does not make a folder ours', async () => {
    const ck = tiny();
    const theirs = fresh('theirs');
    await convert({ input: ck, output: theirs });
    const out = fresh('out');
    mkdirSync(out);
    symlinkSync(join(theirs, 'prmkit.json'), join(out, 'prmkit.json'));
    await expect(convert({ input: ck, output: out, overwrite: true })).rejects.toThrow(/not a prmkit conversion; refusing to write into it/);
  });

  it('a failed run into a new folder leaves nothing; over an earlier one it leaves a marker that --force recovers', async () => {
    const ck = tiny();
    const stop = (m: string) => {
      if (m.startsWith('layer 1/')) throw new Error('stopped mid-write');
    };
    const fresh1 = fresh('out');
    await expect(convert({ input: ck, output: fresh1, onProgress: stop })).rejects.toThrow(/stopped mid-write/);
    expect(existsSync(fresh1)).toBe(false);

    const out = fresh('out');
    await convert({ input: ck, output: out });
    await expect(convert({ input: ck, output: out, overwrite: true, onProgress: stop })).rejects.toThrow(/stopped mid-write/);
    expect(readdirSync(out)).not.toContain('prmkit.json');
    expect(readdirSync(out)).toContain('.prmkit-convert');
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
    await expect(convert({ input: ck, output: out })).rejects.toThrow(/holds what an unfinished conversion left; pass overwrite \(--force\)/);
    const r = await convert({ input: ck, output: out, overwrite: true });
    expect(r.manifest.prmkit).toBe(1);
    expect(readdirSync(out)).not.toContain('.prmkit-convert');
  });
});

describe('paths the checkpoint names', () => {
  function sharded(shard: string): string {
    const ck = tiny();
    const { header } = split(ck);
    writeFileSync(join(ck, 'model.safetensors.index.json'), JSON.stringify({ weight_map: Object.fromEntries(Object.keys(header).filter((k) => k !== '__metadata__').map((k) => [k, shard])) }));
    return ck;
  }

  it('a shard outside the folder is refused by name, before it is opened', async () => {
    for (const shard of ['../other/model.safetensors', '../../../../etc/passwd', '/etc/passwd']) {
      const e = await refusal(sharded(shard));
      expect(e.message).toMatch(/model\.safetensors\.index\.json: weight_map\["model\.embed_tokens\.weight"\] names .* which is outside/);
      expect(e.message).not.toMatch(/root:/);
    }
  });

  it('a shard, config or tokenizer that is a symlink out of the folder is refused; a Hugging Face cache snapshot links into its blobs and converts', async () => {
    const outside = tiny();
    for (const f of ['model.safetensors', 'config.json', 'tokenizer.json']) {
      const ck = tiny();
      rmSync(join(ck, f));
      symlinkSync(join(outside, f), join(ck, f));
      expect((await refusal(ck)).message).toMatch(new RegExp(`${f.replace('.', '\\.')}.*a symlink to .*outside`));
    }
    // models--org--name/snapshots/<rev>/<file> -> ../../blobs/<file>
    const repo = join(fresh('hub'), 'models--org--tiny');
    const snap = join(repo, 'snapshots', 'abc123');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(snap, { recursive: true });
    for (const f of readdirSync(outside)) {
      writeFileSync(join(repo, 'blobs', f), readFileSync(join(outside, f)));
      symlinkSync(join('..', '..', 'blobs', f), join(snap, f));
    }
    expect((await convert({ input: snap, output: fresh('out') })).manifest.format).toBe('math-shepherd');
  });
});

describe('byte ranges and shapes', () => {
  it('overlapping ranges, ranges past the file, ranges that disagree with the shape are refused naming the tensor', async () => {
    const cases: Array<[(h: ReturnType<typeof split>['header'], data: Buffer) => Buffer | void, RegExp]> = [
      [(h) => void (h['model.norm.weight'].data_offsets = [0, 64]), /'model\.embed_tokens\.weight' and 'model\.norm\.weight' overlap|'model\.norm\.weight' and 'model\.embed_tokens\.weight' overlap/],
      [(h) => void (h['model.norm.weight'].data_offsets = [-8, 56]), /'model\.norm\.weight' has no valid data_offsets/],
      [(_, data) => data.subarray(0, data.length - 4), /ends past the end of the file/],
      [(h) => void (h['model.norm.weight'].shape = [17]), /'model\.norm\.weight' byte range \[\d+, \d+\) does not match its shape \[17\] of F32/],
    ];
    for (const [mutate, msg] of cases) {
      const ck = tiny();
      const { header, data } = split(ck);
      const d = mutate(header, data) ?? data;
      rawSafetensors(join(ck, 'model.safetensors'), header, d);
      const e = await refusal(ck);
      expect(e.message).toMatch(msg);
      expect(e.message).toContain(join(ck, 'model.safetensors'));
    }
  });

  it('an lm_head whose shape disagrees with vocab_size is refused', async () => {
    const ck = tiny();
    const { header, data } = split(ck);
    // one row fewer than vocab_size (its bytes stay in the file, unreferenced)
    const lm = header['lm_head.weight'];
    const [V, H] = lm.shape;
    lm.shape = [V - 1, H];
    lm.data_offsets = [lm.data_offsets[0], lm.data_offsets[0] + (V - 1) * H * 4];
    rawSafetensors(join(ck, 'model.safetensors'), header, data);
    expect((await refusal(ck)).message).toMatch(new RegExp(`tensor 'lm_head\\.weight' has shape \\[${V - 1}, ${H}\\]; the config \\(vocab_size ${V}, hidden_size ${H}\\) implies \\[${V}, ${H}\\]`));
  });
});

describe('config numbers', () => {
  const withConfig = (patch: Record<string, unknown>) => {
    const ck = tiny();
    const cfg = JSON.parse(readFileSync(join(ck, 'config.json'), 'utf8'));
    writeFileSync(join(ck, 'config.json'), JSON.stringify({ ...cfg, ...patch }));
    return ck;
  };

  it('a number past its stated bound is refused by file and field', async () => {
    for (const [field, v] of [['max_position_embeddings', 2e7], ['max_position_embeddings', 1e9], ['vocab_size', 2 ** 40], ['num_hidden_layers', 1e6], ['hidden_size', 1.5], ['rms_norm_eps', -1]] as const) {
      const ck = withConfig({ [field]: v });
      const e = await refusal(ck);
      expect(e.message).toMatch(new RegExp(`^${join(ck, 'config.json').replace(/[.]/g, '\\.')}: ${field} must be`));
    }
  });

  describeWhen(hasDist, 'memory', 'dist/ is not built (npx tsc -p tsconfig.json)', () => {
    it('max_position_embeddings sizes nothing: 16M positions convert with the memory and files of 4096', () => {
      const run = (positions: number) => {
        const ck = withConfig({ max_position_embeddings: positions });
        const out = fresh('out');
        const text = execFileSync(process.execPath, [mainJs, 'convert', ck, out], { encoding: 'utf8' });
        const rss = Number(/peak RSS ([\d.]+) MiB/.exec(text)![1]);
        return { rss, bytes: readdirSync(out).map((f) => (f === 'prmkit.json' ? 0 : readFileSync(join(out, f)).length)).reduce((a, b) => a + b, 0), ctx: JSON.parse(readFileSync(join(out, 'prmkit.json'), 'utf8')).contextLength };
      };
      const small = run(4096);
      const large = run(1 << 24);
      expect(large.ctx).toBe(1 << 24);
      expect(large.bytes).toBe(small.bytes);
      // before, the rotary tables alone were 16M x 8 x 2 x 4 bytes = 1 GiB
      expect(large.rss).toBeLessThan(small.rss + 64);
    });
  });
});

describe('errors that are prmkit\'s, naming the file and the field', () => {
  it('malformed headers', async () => {
    const cases: Array<[(h: Record<string, unknown>) => unknown, RegExp]> = [
      [(h) => ({ ...h, 'model.norm.weight': null }), /tensor 'model\.norm\.weight' has no header entry/],
      [() => null, /safetensors header that is not an object/],
      [(h) => ({ ...h, 'model.norm.weight': { ...(h['model.norm.weight'] as object), shape: undefined } }), /'model\.norm\.weight' has no valid shape/],
      [(h) => ({ ...h, 'model.norm.weight': { ...(h['model.norm.weight'] as object), data_offsets: [0.5, 64.5] } }), /'model\.norm\.weight' has no valid data_offsets/],
      [(h) => ({ ...h, 'model.norm.weight': { dtype: 'F32', shape: [2 ** 32, 2 ** 32, 2 ** 32], data_offsets: [0, 64] } }), /'model\.norm\.weight' has shape \[4294967296, 4294967296, 4294967296\], more elements than any file holds/],
    ];
    for (const [mutate, msg] of cases) {
      const ck = tiny();
      const { header, data } = split(ck);
      rawSafetensors(join(ck, 'model.safetensors'), mutate(header), data);
      const e = await refusal(ck);
      expect(e.message).toMatch(msg);
      expect(e.message).not.toMatch(INTERNAL);
    }
  });

  it('a tokenizer.json nested a million levels deep names the file', async () => {
    const ck = tiny();
    writeFileSync(join(ck, 'tokenizer.json'), `{"model":${'['.repeat(1e6)}${']'.repeat(1e6)}}`);
    const e = await refusal(ck);
    expect(e.message).toMatch(/tokenizer\.json nests deeper than 64 levels/);
    expect(e.message).toContain(join(ck, 'tokenizer.json'));
  });

  it('seeded fuzz: mutated headers and configs convert or fail with a named prmkit error, never a JavaScript one', async () => {
    const rand = mulberry32(20261206);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const odd = [null, -1, 0.5, 2 ** 53, 1e308, -0, '', 'x', [], {}, [1, 2, 3], true, '1e9', NaN, [-1, 2], [2 ** 60]];
    const base = tiny();
    const { header, data } = split(base);
    const config = JSON.parse(readFileSync(join(base, 'config.json'), 'utf8'));
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    let converted = 0;
    for (let i = 0; i < 300; i++) {
      const h = structuredClone(header) as Record<string, Record<string, unknown>>;
      const c = structuredClone(config) as Record<string, unknown>;
      const what = rand();
      if (what < 0.45) h[pick(names)][pick(['dtype', 'shape', 'data_offsets'])] = pick(odd);
      else if (what < 0.6) h[pick(names)] = pick(odd) as never;
      else if (what < 0.7) delete h[pick(names)];
      else c[pick(Object.keys(c))] = pick(odd);
      const ck = fresh('fuzz');
      mkdirSync(ck);
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) writeFileSync(join(ck, f), readFileSync(join(base, f)));
      writeFileSync(join(ck, 'config.json'), JSON.stringify(c));
      rawSafetensors(join(ck, 'model.safetensors'), h, data);
      try {
        await convert({ input: ck, output: fresh('out') });
        converted++;
      } catch (e) {
        if (process.env.PRMKIT_SHOW_FUZZ) console.log(i, (e as Error).message);
        expect(e, `case ${i}: ${(e as Error).message}`).toSatisfy((x: unknown) => x instanceof TypeError || x instanceof RangeError);
        expect((e as Error).message, `case ${i}`).not.toMatch(INTERNAL);
        expect((e as Error).message, `case ${i}`).toContain(ck);
      }
      rmSync(ck, { recursive: true, force: true });
    }
    // some mutations are harmless (an inert config field, a NaN that JSON writes as null)
    expect(converted).toBeLessThan(300);
  });
});
