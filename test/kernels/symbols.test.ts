// The addon is an N-API binary: to load, it needs N-API and the C/C++ runtime and nothing
// else. The three V8 functions it calls to hold buffers through a Promise-form call are weak
// references (native/addon/pin.cpp), so a Node without them still loads it (its Promise forms
// then run on the calling thread); every symbol is bound at load (BIND_NOW), so a missing one
// is a load error the loader reports, never a crash at a later call.
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

import { native } from '../../lib/kernels/native.js';
import { describeWhen, hasCommand, hasNative, NO_NATIVE } from '../helpers/index.js';

const ready = hasNative && process.platform === 'linux' && hasCommand('nm') && hasCommand('readelf');
const why = !hasNative ? NO_NATIVE : 'reading ELF symbols needs Linux with nm and readelf (binutils)';

function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describeWhen(ready, 'the addon binary needs N-API alone', why, () => {
  const path = native().path!;
  const undefinedSymbols = () =>
    tool('nm', ['-D', '--undefined-only', path])
      .split('\n')
      .map((l) => /^\s*([A-Za-z])\s+(\S+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map(([, kind, name]) => ({ weak: kind === 'w' || kind === 'v', name }));

  it('requires only napi_* functions and versioned C/C++ runtime symbols', () => {
    const runtime = /@(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9.]+$/;
    const required = undefinedSymbols().filter((s) => !s.weak).map((s) => s.name);
    expect(required.some((n) => n.startsWith('napi_'))).toBe(true);
    expect(required.filter((n) => !n.startsWith('napi_') && !n.startsWith('node_api_') && !runtime.test(n))).toEqual([]);
  });

  it('references V8 only weakly, and only the calls that hold buffers', () => {
    const v8 = undefinedSymbols().filter((s) => /^_ZN?K?2v8/.test(s.name));
    expect(v8.filter((s) => !s.weak)).toEqual([]);
    if (native().binding!.info().pinned)
      expect(v8.map((s) => s.name).sort()).toEqual([
        '_ZN2v811ArrayBuffer15GetBackingStoreEv',
        '_ZN2v815ArrayBufferView6BufferEv',
        '_ZNK2v812BackingStore27IsResizableByUserJavaScriptEv',
      ]);
  });

  it('binds every symbol at load', () => {
    expect(tool('readelf', ['-d', path])).toMatch(/\(FLAGS\)\s+BIND_NOW|FLAGS_1\)\s+Flags:.*\bNOW\b/);
  });
});
