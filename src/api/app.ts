// The local REST API: built without listening (`createApp`), so tests and the daemon choose the port.
// Every route but GET /api/health requires `Authorization: Bearer <token>` (HOME/api-token).
import Fastify, { type FastifyInstance } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { P2PBackupError } from '../common/errors.ts';
import { errorBody, httpStatusOf } from './errors.ts';
import type { PeerService } from './service.ts';

export interface AppInit {
  peer: PeerService;
  token: string;
  logger?: boolean;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (header == null || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

export function createApp(init: AppInit): FastifyInstance {
  const { peer, token } = init;
  // Caps travel in URLs (a literal cap can carry a few dozen bytes of data): allow long path params.
  const app = Fastify({ logger: init.logger ?? false, bodyLimit: 1 << 20, routerOptions: { maxParamLength: 4096 } });
  // Uploads arrive as raw streams; the service spools or streams them itself.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/api/health') return;
    if (!tokenMatches(req.headers.authorization, token)) {
      await reply.code(401).send({ code: 'ERR_UNAUTHORIZED', message: 'missing or wrong API token: send "Authorization: Bearer <HOME/api-token>"' });
    }
  });
  app.setErrorHandler(async (err, _req, reply) => {
    await reply.code(httpStatusOf(err)).send(errorBody(err));
  });
  app.setNotFoundHandler(async (req, reply) => {
    await reply.code(404).send({ code: 'ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` });
  });

  app.get('/api/health', async () => ({ ok: true }));
  app.get('/api/status', async () => peer.status());
  app.get('/api/peers', async () => ({ peers: await peer.peers() }));

  // Put a file. JSON { path } reads a local file (the CLI's case: same machine); an octet-stream body
  // is spooled by the service. With ?progress=1 the answer is NDJSON: progress events, then the result.
  app.post('/api/files', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const opts = encodingFromQuery(q);
    let input: Parameters<PeerService['putFile']>[0];
    if (req.headers['content-type']?.startsWith('application/json')) {
      const body = req.body as { path?: unknown };
      if (typeof body?.path !== 'string') throw new P2PBackupError('ERR_BAD_REQUEST', 'body must be { "path": "/absolute/file" }');
      input = { path: body.path };
    } else {
      input = { stream: req.body as AsyncIterable<Uint8Array> };
    }
    const controller = new AbortController();
    // The response closing before it finished means the client went away: stop the upload.
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) controller.abort(); });
    if (q.progress !== '1') return peer.putFile(input, { ...opts, signal: controller.signal });
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const line = (o: unknown) => reply.raw.write(JSON.stringify(o) + '\n');
    try {
      const result = await peer.putFile(input, { ...opts, signal: controller.signal, onProgress: (event) => line({ event }) });
      line({ result });
    } catch (err) {
      line({ error: errorBody(err), status: httpStatusOf(err) });
    }
    reply.raw.end();
  });

  // Get a file by cap: streamed bytes, Content-Length known from the cap.
  app.get('/api/files/:cap', async (req, reply) => {
    const { cap } = req.params as { cap: string };
    const controller = new AbortController();
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) controller.abort(); });
    const file = await peer.getFile(cap, { signal: controller.signal });
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-length', String(file.size));
    return reply.send(file.stream);
  });

  return app;
}

function encodingFromQuery(q: Record<string, string | undefined>) {
  const num = (name: string) => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new P2PBackupError('ERR_BAD_REQUEST', `query "${name}" must be a whole number`);
    return Number(v);
  };
  return { k: num('k'), n: num('n'), happy: num('happy') };
}

