// The scoring page's serving side, without a browser: its files at GET / and /ui/ (open
// without the API key, with a content-security policy), GET /v1/prm/info, `ui: false` and
// `--no-ui`, the files found from the compiled dist/, and the examples checked against the
// arithmetic task's own verifier. The page itself is driven in ui-browser.test.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/run.js';
import { DEFAULT_LIMITS, createServer } from '../../lib/server/index.js';
import type { PrmServer, ServerOptions } from '../../lib/server/index.js';
import { assetsDir } from '../../lib/server/ui/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import { createArithmeticProblems, demoTaskOptions, verifySteps } from '../../lib/testing/arithmetic.js';
import { Prm } from '../../lib/prm/index.js';
import { distDir, hasDemoPrm, hasDist, itWhen, NO_DEMO_PRM, NO_DIST, repoRoot } from '../helpers/index.js';
import { io, when } from '../cli/helpers.js';
import { FakeModel } from './fake-model.js';
import { get } from './http.js';

const assets = join(repoRoot, 'lib', 'server', 'ui', 'assets');
const servers: PrmServer[] = [];

async function start(extra: Partial<ServerOptions> = {}, model: ServerOptions['model'] = new FakeModel()) {
  const server = createServer({ model, ...extra });
  servers.push(server);
  return (await server.listen({ port: 0 })).url;
}

afterAll(() => Promise.all(servers.map((s) => s.close())));

describe('the page at GET /', () => {
  let url: string;
  beforeAll(async () => {
    url = await start();
  });

  it('serves index.html with a policy that allows only its own files and this origin', async () => {
    const r = await get(url, '/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(r.text).toBe(readFileSync(join(assets, 'index.html'), 'utf8'));
    const csp = r.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves every file the page refers to, each with its type, and nothing from elsewhere', async () => {
    const html = readFileSync(join(assets, 'index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((h) => !h.startsWith('data:'));
    expect(refs.sort()).toEqual(['/ui/page.css', '/ui/page.js']);
    const types: Record<string, string> = { 'page.css': 'text/css; charset=utf-8', 'page.js': 'text/javascript; charset=utf-8', 'examples.json': 'application/json; charset=utf-8' };
    for (const [file, type] of Object.entries(types)) {
      const r = await get(url, `/ui/${file}`);
      expect(r.status, file).toBe(200);
      expect(r.headers.get('content-type')).toBe(type);
      expect(r.text).toBe(readFileSync(join(assets, file), 'utf8'));
      // no CDN, no other origin: the page works offline
      expect(r.text, file).not.toMatch(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    }
  });

  it('answers a repeated fetch with 304 when the file has not changed', async () => {
    const first = await get(url, '/ui/page.js');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get(url, '/ui/page.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('finds its files from the compiled dist/ as well as from lib/', async () => {
    expect(assetsDir()).toBe(assets);
    // the package ships them: some entry of package.json "files" holds the folder
    const files: string[] = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).files;
    const rel = relative(repoRoot, join(assets, 'index.html'));
    expect(files.some((f) => rel === f || rel.startsWith(f.replace(/\/?$/, '/')))).toBe(true);
  });

  itWhen(hasDist, 'the compiled module resolves the same folder', NO_DIST, async () => {
    const compiled = (await import(join(distDir, 'server', 'ui', 'index.js'))) as { assetsDir(): string };
    expect(compiled.assetsDir()).toBe(assets);
  });
});

describe('GET /v1/prm/info', () => {
  it('describes the model: kind, format, backend, kernels, aggregations, threshold and limits', async () => {
    const url = await start({ limits: { maxItems: 12 }, defaultAggregate: 'min', errorThreshold: 0.3 });
    const r = await get(url, '/v1/prm/info');
    expect(r.status).toBe(200);
    const info = JSON.parse(r.text);
    const health = JSON.parse((await get(url, '/health')).text);
    expect(info).toEqual({
      object: 'model_info',
      model: 'fake-prm',
      kind: 'prm',
      format: null,
      backend: null,
      kernels: health.kernels,
      aggregations: ['prod', 'min', 'last', 'mean', 'geomean'],
      defaultAggregate: 'min',
      errorThreshold: 0.3,
      stepSeparator: null,
      maxContext: null,
      limits: { ...DEFAULT_LIMITS, maxItems: 12 },
    });
  });

  it("reports an ORM and the model's own format and backend", async () => {
    const model = Object.assign(new FakeModel(), { kind: 'orm' as const, format: 'plain-orm', backend: 'onnx/cpu' });
    const info = JSON.parse((await get(await start({}, model), '/v1/prm/info')).text);
    expect(info).toMatchObject({ kind: 'orm', format: 'plain-orm', backend: 'onnx/cpu' });
  });

  it('refuses a model kind it does not know, and a ui option that is not a boolean', () => {
    const model = Object.assign(new FakeModel(), { kind: 'reward' });
    expect(() => createServer({ model: model as never })).toThrow(RangeError);
    expect(() => createServer({ model: new FakeModel(), ui: 'no' as never })).toThrow(/options\.ui must be true or false/);
  });
});

describe('the page and the API key', () => {
  let url: string;
  beforeAll(async () => {
    url = await start({ apiKey: 'k-page' });
  });

  it('serves the page files without the key (they hold no data)', async () => {
    for (const path of ['/', '/ui/page.js', '/ui/page.css', '/ui/examples.json']) expect((await get(url, path)).status, path).toBe(200);
  });

  it('keeps the model info and the scoring routes behind the key', async () => {
    expect((await get(url, '/v1/prm/info')).status).toBe(401);
    expect((await get(url, '/v1/prm/info', { authorization: 'Bearer k-page' })).status).toBe(200);
    expect((await get(url, '/ui/other.js')).status).toBe(401);
  });
});

describe('turning the page off', () => {
  it('ui: false answers GET / with the JSON 404 and keeps every API route', async () => {
    const url = await start({ ui: false });
    for (const path of ['/', '/ui/page.js']) {
      const r = await get(url, path);
      expect(r.status).toBe(404);
      expect(JSON.parse(r.text).error.message).toBe(`no route GET ${path}`);
    }
    expect((await get(url, '/v1/prm/info')).status).toBe(200);
  });

  it('prmkit serve --no-ui turns it off; without the flag the banner names the page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prmkit-ui-cli-'));
    try {
      const tiny = await createTinyModel({ dir, seed: 2, layers: 1, hidden: 32 });
      const model = ['-m', tiny.model, '-t', tiny.tokenizer, '--head', tiny.head!, '-f', 'math-shepherd', '--port', '0'];
      for (const off of [true, false]) {
        const stop = new AbortController();
        const c = io({ signal: stop.signal });
        const running = runCli(['serve', ...model, ...(off ? ['--no-ui'] : [])], c);
        try {
          await when(c.stderr, 'wrote', () => / on http:\/\//.test(c.stderr.text));
          const url = /on (http:\/\/\S+)/.exec(c.stderr.text)![1]!;
          expect((await get(url, '/')).status).toBe(off ? 404 : 200);
          expect(c.stderr.text.includes(`scoring page at ${url}/`)).toBe(!off);
          const info = JSON.parse((await get(url, '/v1/prm/info')).text);
          expect(info).toMatchObject({ kind: 'prm', format: 'math-shepherd', backend: 'onnx/cpu', stepSeparator: ' ки' });
        } finally {
          stop.abort();
        }
        expect(await running).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the page's examples", () => {
  const examples = JSON.parse(readFileSync(join(assets, 'examples.json'), 'utf8')) as Array<{
    title: string;
    problem: string;
    candidates: string[];
    source: { seed: number; steps: number; index: number; firstWrong: number[] };
  }>;

  it("are problems of the demo models' arithmetic task whose wrong steps are where they say (by its verifier)", () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
    expect(examples.some((e) => e.source.firstWrong.includes(2))).toBe(true);
    expect(examples.some((e) => e.source.firstWrong.includes(-1))).toBe(true);
    for (const e of examples) {
      expect(e.source.steps).toBe(demoTaskOptions.steps);
      const p = createArithmeticProblems(e.source.index + 1, { ...demoTaskOptions, seed: e.source.seed })[e.source.index]!;
      expect(p.problem, e.title).toBe(e.problem);
      const firstWrong = e.candidates.map((c) => verifySteps(p, c.split('\n')).indexOf(false));
      expect(firstWrong, e.title).toEqual(e.source.firstWrong);
    }
  });

  itWhen(hasDemoPrm, 'are marked by the demo PRM where the verifier puts their first errors, at the default threshold', NO_DEMO_PRM, async () => {
    const prm = await Prm.demo();
    try {
      for (const e of examples) {
        const scored = await prm.score(e.candidates.map((c) => ({ problem: e.problem, steps: c.split('\n') })), { errorThreshold: 0.5 });
        expect(scored.map((r) => r.firstError), e.title).toEqual(e.source.firstWrong);
      }
    } finally {
      await prm.close();
    }
  });
});
