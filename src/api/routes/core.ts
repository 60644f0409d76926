// Health, status, peers, and single files put and fetched by cap (streamed).
import { Readable } from 'node:stream';
import { BadRequestError } from '../../common/errors.ts';
import { clientGone, ndjson } from '../ndjson.ts';
import type { PeerService } from '../service.ts';
import { absPath, capString, errors, ndjsonResponse, StatusSchema } from './schemas.ts';
import type { Routes } from './context.ts';

const encodingQuery = {
  type: 'object',
  properties: {
    k: { type: 'string', pattern: '^\\d+$', description: 'shares needed' },
    n: { type: 'string', pattern: '^\\d+$', description: 'shares made' },
    happy: { type: 'string', pattern: '^\\d+$', description: 'distinct peers that must hold shares' },
    progress: { type: 'string', enum: ['0', '1'], description: '1: answer as NDJSON progress lines, then the result' }
  }
} as const;

const PutResult = {
  type: 'object',
  properties: {
    cap: { type: 'string' },
    size: { type: 'integer' },
    blobsNew: { type: 'integer' },
    bytesStored: { type: 'integer' },
    packs: { type: 'integer' },
    pack: { type: ['string', 'null'] },
    storageIndex: { type: ['string', 'null'] },
    placements: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    happiness: { type: 'integer' },
    packCaps: { type: 'array', items: { type: 'string' } },
    paths: {
      type: 'object',
      description: 'peer id -> how its share was sent: direct, own-connection (the connection it opened to us: behind NAT) or relay (through `relay`)',
      additionalProperties: {
        type: 'object',
        properties: { path: { type: 'string', enum: ['direct', 'own-connection', 'relay'] }, relay: { type: ['string', 'null'] } }
      }
    }
  }
} as const;

export const coreRoutes: Routes = (app, { peer, allowed }) => {
  app.get(
    '/api/health',
    {
      config: { public: true },
      schema: {
        summary: 'liveness (no token needed)',
        tags: ['daemon'],
        security: [],
        response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } }
      }
    },
    async () => ({ ok: true })
  );

  app.get(
    '/api/status',
    {
      schema: {
        summary: 'this peer: identity, addresses, how others reach it, storage offered and used, folders',
        tags: ['daemon'],
        response: { 200: StatusSchema, ...errors }
      }
    },
    async () => peer.status()
  );

  app.get(
    '/api/peers',
    {
      schema: {
        summary: 'connected peers, and how storage traffic reaches each (direct, own-connection, relay)',
        tags: ['daemon'],
        response: { 200: { type: 'object', properties: { peers: { type: 'array', items: { $ref: 'Peer#' } } } }, ...errors }
      }
    },
    async () => ({ peers: await peer.peers() })
  );

  const n = { type: ['number', 'null'] } as const;
  app.get(
    '/api/swarm',
    {
      schema: {
        summary: "the connected peers' space (asked over the storage protocol) and round trip, and the swarm's totals (answers kept a few seconds)",
        tags: ['daemon'],
        response: {
          200: {
            type: 'object',
            properties: {
              at: { type: 'number' },
              peers: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { id: { type: 'string' }, latencyMs: n, offered: n, used: n, free: n, shares: n, error: { type: 'string' } }
                }
              },
              totals: {
                type: 'object',
                properties: {
                  peers: { type: 'integer' },
                  answered: { type: 'integer' },
                  offered: { type: 'number' },
                  used: { type: 'number' },
                  free: { type: 'number' }
                }
              }
            }
          },
          ...errors
        }
      }
    },
    async () => peer.swarm()
  );

  // Put a file. JSON { path } reads a local file (the CLI's case: same machine); an octet-stream body
  // is spooled by the service. With ?progress=1 the answer is NDJSON: progress events, then the result.
  app.post(
    '/api/files',
    {
      config: { writes: true },
      schema: {
        summary: 'store one file in the swarm; answers its read cap',
        tags: ['files'],
        querystring: encodingQuery,
        body: {
          content: {
            'application/json': { schema: { type: 'object', required: ['path'], properties: { path: absPath } } },
            'application/octet-stream': { schema: { description: 'the file bytes, streamed' } }
          }
        },
        response: { 200: PutResult, ...errors }
      }
    },
    async (req, reply) => {
      const q = req.query as Record<string, string | undefined>;
      const opts = encodingFromQuery(q);
      let input: Parameters<PeerService['putFile']>[0];
      if (req.headers['content-type']?.startsWith('application/json')) {
        const body = req.body as { path?: unknown };
        if (typeof body?.path !== 'string') throw new BadRequestError('body must be { "path": "/absolute/file" }');
        input = { path: await allowed(body.path, 'file') };
      } else {
        input = { stream: req.body as AsyncIterable<Uint8Array> };
      }
      if (q.progress !== '1') return peer.putFile(input, { ...opts, signal: clientGone(reply) });
      await ndjson(reply, (onProgress, signal) => peer.putFile(input, { ...opts, signal, onProgress: onProgress as any }));
    }
  );

  // Get a file by cap: streamed bytes, Content-Length known from the cap.
  app.get(
    '/api/files/:cap',
    {
      schema: {
        summary: 'fetch one file by its read cap, every block verified (streamed)',
        tags: ['files'],
        params: { type: 'object', required: ['cap'], properties: { cap: capString } },
        response: {
          200: { description: 'the file bytes', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          ...errors
        }
      }
    },
    async (req, reply) => {
      const { cap } = req.params as { cap: string };
      const file = await peer.getFile(cap, { signal: clientGone(reply) });
      // The first bytes are fetched and verified before the answer starts: a file that cannot be read at all
      // (too few shares, every share corrupt) is an error answer with its code, not a 200 cut short.
      const it = file.stream[Symbol.asyncIterator]();
      const first = await it.next();
      reply.header('content-type', 'application/octet-stream');
      reply.header('content-length', String(file.size));
      return reply.send(
        Readable.from(
          (async function* () {
            if (!first.done) yield first.value;
            for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
          })()
        )
      );
    }
  );
};

function encodingFromQuery(q: Record<string, string | undefined>) {
  const num = (name: string) => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new BadRequestError(`query "${name}" must be a whole number`);
    return Number(v);
  };
  return { k: num('k'), n: num('n'), happy: num('happy') };
}
