// The local REST API: built without listening (`createApp`), so tests and the daemon choose the port.
// Every route needs `Authorization: Bearer <token>` (HOME/api-token) except the ones marked
// `config: { public: true }` (GET /api/health, GET /api/openapi.json) and the web UI's static files.
// Routes marked `config: { writes: true }` answer 403 ERR_READ_ONLY on a read-only light node.
// Every path received is checked against the allowed roots (ERR_PATH_NOT_ALLOWED, 403).
// The routes live in routes/*.ts, one file per noun; the OpenAPI document is generated from their schemas.
import Fastify, { type FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import { timingSafeEqual } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { errorBody, httpStatusOf, ReadOnlyError, UnauthorizedError } from './errors.ts';
import { ndjson } from './ndjson.ts';
import { createPathGuard } from './paths.ts';
import type { PeerService } from './service.ts';
import { DirEntrySchema, ErrorSchema, FolderSchema, OperationSchema, PeerSchema, ReachabilitySchema } from './routes/schemas.ts';
import { coreRoutes } from './routes/core.ts';
import { folderRoutes } from './routes/folders.ts';
import { capRoutes } from './routes/caps.ts';
import { eventRoutes } from './routes/events.ts';
import { metricRoutes } from './routes/metrics.ts';
import { healthRoutes } from './routes/health.ts';
import { operationRoutes } from './routes/operations.ts';
import { uiRoutes } from './routes/ui.ts';
import type { RouteContext } from './routes/context.ts';
import { lazyCompilers } from './lazy-compilers.ts';

export { ndjson };

export interface AppInit {
  peer: PeerService;
  token: string;
  logger?: boolean;
  /** Directories whose paths the API accepts (config api.allowedRoots). Default: home and temp dirs. */
  allowedRoots?: string[];
  /** Serve the web UI from this directory (default build/web; false: no UI). */
  web?: string | false;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (header == null || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** No token needed. */
    public?: boolean;
    /** Changes what this peer stores or backs up: refused on a read-only light node. */
    writes?: boolean;
  }
}

export async function createApp(init: AppInit): Promise<FastifyInstance> {
  const { peer, token } = init;
  // Caps travel in URLs (a literal cap can carry a few dozen bytes of data): allow long path params.
  const app = Fastify({
    logger: init.logger ?? false,
    bodyLimit: 1 << 20,
    routerOptions: { maxParamLength: 4096 },
    schemaController: { compilersFactory: lazyCompilers() }
  });
  // Uploads arrive as raw streams; the service spools or streams them itself.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.addSchema(ErrorSchema);
  app.addSchema(FolderSchema);
  app.addSchema(DirEntrySchema);
  app.addSchema(OperationSchema);
  app.addSchema(PeerSchema);
  app.addSchema(ReachabilitySchema);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'p2pbackup daemon API',
        version: '1',
        description: 'The local API of a p2pbackup peer: what the CLI and the web UI use. Errors are { code, message }.'
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'the contents of HOME/api-token' } } },
      security: [{ bearer: [] }]
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions;
    // Public: routes that say so, and the web UI's static files (a route of the static plugin, which
    // can only serve files from build/web). Decided on the matched route, never on the raw URL.
    // (An unknown /api/… URL falls through to the static route: it still needs the token, as before.)
    const staticFile = route.url !== undefined && !route.url.startsWith('/api') && route.url !== '/metrics' && !/^\/(api|metrics)\b/.test(req.url);
    if (route.config?.public || staticFile) return;
    if (!tokenMatches(req.headers.authorization, token)) {
      const err = new UnauthorizedError();
      await reply.code(httpStatusOf(err)).send(errorBody(err));
    }
  });
  app.addHook('preHandler', async (req) => {
    if (peer.readOnly && req.routeOptions.config?.writes) {
      throw new ReadOnlyError();
    }
  });
  app.setErrorHandler(async (err, _req, reply) => {
    await reply.code(httpStatusOf(err)).send(errorBody(err));
  });
  app.setNotFoundHandler(async (req, reply) => {
    await reply.code(404).send({ code: 'ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` });
  });

  const ctx: RouteContext = { peer, allowed: createPathGuard(init.allowedRoots ?? [homedir(), tmpdir()]) };
  coreRoutes(app, ctx);
  folderRoutes(app, ctx);
  capRoutes(app, ctx);
  eventRoutes(app, ctx);
  metricRoutes(app, ctx);
  healthRoutes(app, ctx);
  operationRoutes(app, ctx);
  app.get(
    '/api/openapi.json',
    {
      config: { public: true },
      schema: {
        summary: 'this document (no token needed: it describes the API, holds no data)',
        tags: ['daemon'],
        security: [],
        response: { 200: { type: 'object', additionalProperties: true } }
      }
    },
    async () => app.swagger()
  );
  if (init.web !== false) await uiRoutes(app, init.web);

  return app;
}
