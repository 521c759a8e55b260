// The scoring page at GET /: static HTML, CSS and JS read from the package (no CDN, no build
// step), which talk to the service only through its public JSON routes. The files are open
// without the API key (they hold no data); the page asks for the key and sends it on each call.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Route config that lets a request past the API-key check. */
export const OPEN_ROUTE = { open: true } as const;

/** The page's files: URL path → file name and content type. */
const FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/ui/page.css': ['page.css', 'text/css; charset=utf-8'],
  '/ui/page.js': ['page.js', 'text/javascript; charset=utf-8'],
  '/ui/examples.json': ['examples.json', 'application/json; charset=utf-8'],
};

// the page runs only its own script and talks only to this origin
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The assets folder. tsc does not copy them, so from the compiled dist/server/ui/ they are
 * found in the package's lib/server/ui/assets (the package ships lib/), three folders up
 * from either location.
 */
export function assetsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'assets');
  if (existsSync(join(beside, 'index.html'))) return beside;
  return join(here, '..', '..', '..', 'lib', 'server', 'ui', 'assets');
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    let body: Buffer;
    try {
      body = readFileSync(join(dir, file));
    } catch (err) {
      throw new Error(`the scoring page's file ${file} is missing from ${dir} (${(err as Error).message}); reinstall prmkit or pass ui: false`);
    }
    out.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return out;
}

/** GET / and /ui/*: the page's files, read once at startup. */
export function registerUi(app: FastifyInstance): void {
  const assets = loadAssets(assetsDir());
  for (const [path, asset] of assets) {
    app.get(path, { config: OPEN_ROUTE }, async (request: FastifyRequest, reply: FastifyReply) => {
      reply
        .header('content-type', asset.type)
        .header('cache-control', 'no-cache')
        .header('etag', asset.etag)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer');
      if (asset.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('x-frame-options', 'DENY');
      if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      return reply.send(asset.body);
    });
  }
}
