// The body parser has no recursion a client's nesting reaches: a body nested thousands deep,
// with escapes or `__proto__` / `constructor` keys that make it check every key, is a 400
// naming the body (it was a 500 "Maximum call stack size exceeded" from a recursive reviver).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_DEPTH, parseJsonBody } from '../../lib/server/body.js';
import { createServer } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { FakeModel } from './fake-model.js';
import { postJson } from './http.js';

/** `{"items":[{"problem":"q","steps":["a"],"x": <value nested `depth` deep around `core`>}]}` */
function nested(depth: number, open: string, close: string, core = '1'): string {
  return `{"items":[{"problem":"q","steps":["a"],"id":"i","x":${open.repeat(depth)}${core}${close.repeat(depth)}}]}`;
}

const DEEP: Array<[string, string]> = [
  ['arrays with a \\u escape', nested(5000, '[', ']', '"\\u0041"')],
  ['objects under __proto__ keys', nested(5000, '{"__proto__":', '}')],
  ['objects under constructor keys', nested(5000, '{"constructor":', '}')],
  ['100 000 arrays', nested(100_000, '[', ']', '"\\u0041"')],
];

describe('deep bodies', () => {
  let server: PrmServer;
  let url = '';
  beforeAll(async () => {
    server = createServer({ model: new FakeModel(), limits: { maxBodyBytes: 1 << 20 } });
    ({ url } = await server.listen());
  });
  afterAll(() => server.close());

  for (const [what, body] of DEEP) {
    it(`${what}: 400 naming the body, and the server keeps serving`, async () => {
      const r = await postJson(url, '/v1/prm/score', body);
      expect(r.status).toBe(400);
      expect(r.body.error.param).toBe('body');
      expect(r.body.error.message).toMatch(/nests deeper than 128 levels|"__proto__" or "constructor.prototype" key/);
      const ok = await postJson(url, '/v1/prm/score', { items: [{ problem: 'q', steps: ['a'] }] });
      expect(ok.status).toBe(200);
    });
  }

  it('nesting up to the bound parses; one level more is refused', () => {
    // the body itself is level 1, items 2, the item 3, x 4 and on
    const fits = nested(MAX_BODY_DEPTH - 3, '[', ']');
    expect(() => parseJsonBody(fits)).not.toThrow();
    expect(() => parseJsonBody(nested(MAX_BODY_DEPTH - 2, '[', ']'))).toThrow(/nests deeper than 128 levels/);
    // a polluting key deep inside is still found
    expect(() => parseJsonBody(nested(100, '[', ']', '{"a":{"__proto__":1}}'))).toThrow(/"__proto__"/);
    expect(() => parseJsonBody(nested(100, '[', ']', '{"constructor":{"prototype":{}}}'))).toThrow(/constructor.prototype/);
    expect(parseJsonBody('{"constructor":"a word","\\u0041":1}')).toEqual({ constructor: 'a word', A: 1 });
  });
});
