// Server options are checked at startup with the project's argument vocabulary: the wrong
// kind is a TypeError, a bad value a RangeError, both naming the option.
import { describe, expect, it } from 'vitest';
import { resolveServerOptions } from '../../lib/server/config.js';
import type { ServerOptions } from '../../lib/server/types.js';
import { FakeModel } from './fake-model.js';

const resolve = (o: Partial<ServerOptions>) => resolveServerOptions({ model: new FakeModel(), ...o } as ServerOptions);

describe('server options', () => {
  it('defaults', () => {
    const o = resolve({});
    expect(o).toMatchObject({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, maxConnections: 1024, errorThreshold: 0.5, defaultAggregate: 'prod' });
    // a short request deadline brings the headers deadline down with it
    expect(resolve({ requestTimeoutMs: 800 }).headersTimeoutMs).toBe(800);
  });

  it('takes the thresholds the kernels take: strictly inside (0, 1)', () => {
    expect(() => resolve({ errorThreshold: 1 })).toThrow(RangeError);
    expect(() => resolve({ errorThreshold: 0 })).toThrow(/options.errorThreshold must be a number in \(0, 1\)/);
    expect(() => resolve({ errorThreshold: NaN })).toThrow(RangeError);
    expect(() => resolve({ errorThreshold: '0.5' as unknown as number })).toThrow(TypeError);
    expect(resolve({ errorThreshold: 0.25 }).errorThreshold).toBe(0.25);
  });

  it('names unknown keys with the nearest known one', () => {
    expect(() => resolve({ batching: { maxWait: 5 } as never })).toThrow(TypeError);
    expect(() => resolve({ batching: { maxWait: 5 } as never })).toThrow(/options.batching.maxWait is not an option; did you mean 'maxWaitMs'/);
    expect(() => resolve({ limits: { maxItem: 5 } as never })).toThrow(/options.limits.maxItem is not an option; did you mean 'maxItems'/);
  });

  it('checks timeouts, the connection cap and the rest by kind and range', () => {
    expect(() => resolve({ requestTimeoutMs: 1000, headersTimeoutMs: 5000 })).toThrow(/options.headersTimeoutMs must be an integer in \[1, 1000\], got 5000/);
    expect(() => resolve({ maxConnections: 0 })).toThrow(RangeError);
    expect(() => resolve({ maxConnections: '2' as unknown as number })).toThrow(/options.maxConnections must be a positive integer, got "2" \(string\)/);
    expect(() => resolve({ requestTimeoutMs: 2 ** 31 })).toThrow(RangeError);
    expect(() => resolve({ batching: { maxWaitMs: -1 } })).toThrow(/options.batching.maxWaitMs/);
    expect(() => resolve({ defaultAggregate: 'median' as never })).toThrow(/options.defaultAggregate must be one of/);
    expect(() => resolve({ modelName: '' })).toThrow(/options.modelName must be a non-empty string/);
    expect(() => resolveServerOptions(null as never)).toThrow(TypeError);
  });
});
