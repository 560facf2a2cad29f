/**
 * The web dashboard's files (web/, built by `npm run build:web` into web/dist) served at `/`
 * with `@fastify/static`. Asset names carry a content hash, so they are cached for a year as
 * immutable; `index.html` is `no-cache`, so a new build is picked up on the next load. When the
 * build is missing, `GET /` says how to make it instead of answering 404.
 *
 * The files are public (they hold no data); everything they show comes from the API, under its
 * tokens and scopes.
 */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where the build lands: `web/dist` at the package root (src/server and dist/server alike). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export interface DashboardOptions {
  /** The built files. @default {@link DASHBOARD_DIR} */
  root?: string;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

export async function registerDashboard(
  app: FastifyInstance,
  options: DashboardOptions = {},
): Promise<void> {
  const root = options.root ?? DASHBOARD_DIR;
  if (!existsSync(join(root, 'index.html'))) {
    app.get('/', (_request, reply) =>
      reply
        .status(503)
        .header('cache-control', 'no-cache')
        .type('text/html; charset=utf-8')
        .send(notBuiltPage(root)),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // One route per built file, found once at start: no catch-all that would answer for the
    // API's unknown routes.
    wildcard: false,
    index: ['index.html'],
    cacheControl: false,
    dotfiles: 'ignore',
    setHeaders: (reply, path) => {
      const inAssets = relative(root, path).split(/[\\/]/)[0] === 'assets';
      void reply.header('cache-control', inAssets ? IMMUTABLE : 'no-cache');
    },
  });
}

function notBuiltPage(root: string): string {
  const escaped = root.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Baton: the dashboard is not built</title></head>
<body>
<h1>The Baton dashboard is not built</h1>
<p>The API is up (see <a href="/openapi.json">/openapi.json</a>), but there are no dashboard files in <code>${escaped}</code>.</p>
<p>Build them in the Baton checkout with <code>npm run build:web</code> (<code>npm install</code> does it too), then reload this page.
To serve the API without a dashboard, start the server with <code>npx baton server --no-dashboard</code>.</p>
</body></html>
`;
}
