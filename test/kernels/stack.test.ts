// A Promise-form kernel call that fails rejects with an Error whose stack shows the caller.
// The addon rejects from a libuv callback with no JavaScript frame on the stack; fromCaller
// takes the frames where the call starts (a cpu call never fails once its arguments pass,
// so a rejection from a later turn of the loop stands in for the addon's).
import { describe, expect, it } from 'vitest';

import { fromCaller } from '../../lib/kernels/native.js';

class NativeFailure extends RangeError {
  code = 'E_NATIVE';
}

// what the addon's rejection looks like: made outside the caller's stack
function nativeCall(message: string, make: (m: string) => Error = (m) => new Error(m)): Promise<void> {
  return new Promise((_, reject) => setImmediate(() => reject(make(message))));
}

async function scoreSomethingForTheUser(wrap: boolean): Promise<void> {
  await (wrap ? fromCaller(nativeCall('prmkit: cuda: out of memory')) : nativeCall('prmkit: cuda: out of memory'));
}

describe('fromCaller', () => {
  it("gives a rejection the caller's frames and keeps the native message", async () => {
    const bare = await scoreSomethingForTheUser(false).catch((e: Error) => e);
    // the failure it guards against: without it the caller is nowhere in the stack
    expect(bare.stack).not.toContain('scoreSomethingForTheUser');
    const e = await scoreSomethingForTheUser(true).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('prmkit: cuda: out of memory');
    expect(e.stack!.split('\n')[0]).toBe('Error: prmkit: cuda: out of memory');
    expect(e.stack).toContain('scoreSomethingForTheUser');
    expect(e.stack).toContain('stack.test.ts');
    expect(e.stack).not.toContain('fromCaller');
  });

  it('keeps the error class and its properties', async () => {
    const e = await fromCaller(nativeCall('bad', (m) => new NativeFailure(m))).catch((x: NativeFailure) => x);
    expect(e).toBeInstanceOf(NativeFailure);
    expect(e.code).toBe('E_NATIVE');
    expect(e.stack!.split('\n')[0]).toBe('RangeError: bad');
  });

  it('passes results through', async () => {
    await expect(fromCaller(Promise.resolve(42))).resolves.toBe(42);
  });
});
