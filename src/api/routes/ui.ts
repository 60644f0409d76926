// The web UI: static files from build/web (bundled by scripts/build.ts), served without the token (the
// page asks for it). A strict content security policy: nothing but this origin, no inline script.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

export const WEB_ROOT = fileURLToPath(new URL('../../../build/web/', import.meta.url));
const CSP =
  "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export async function uiRoutes(app: FastifyInstance, root = WEB_ROOT): Promise<void> {
  if (!existsSync(root)) {
    app.get('/', { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
      reply.type('text/plain').send('The web UI is not built: run `npm run build` (or `node scripts/build.ts --web-only`).\n')
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    wildcard: true,
    setHeaders(res) {
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
    }
  });
}
