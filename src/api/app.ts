// The local REST API: built without listening (`createApp`), so tests and the daemon choose the port.
// Every route but GET /api/health requires `Authorization: Bearer <token>` (HOME/api-token).
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
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
  app.post('/api/ping', async (req) => {
    const b = (req.body ?? {}) as { address?: unknown };
    if (typeof b.address !== 'string') throw new P2PBackupError('ERR_BAD_REQUEST', 'body must be { "address": "/ip4/…/tcp/…/p2p/…" }');
    return peer.ping(b.address);
  });

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
    if (q.progress !== '1') {
      const controller = new AbortController();
      reply.raw.on('close', () => { if (!reply.raw.writableFinished) controller.abort(); });
      return peer.putFile(input, { ...opts, signal: controller.signal });
    }
    await ndjson(reply, (onProgress, signal) => peer.putFile(input, { ...opts, signal, onProgress: onProgress as any }));
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

  // ---- fairness ---------------------------------------------------------------------------------------
  app.get('/api/fairness', async () => {
    if (!peer.fairnessReport) throw new P2PBackupError('ERR_UNSUPPORTED', 'this peer runs without the fairness layer');
    return peer.fairnessReport();
  });
  // Audit now (the daemon also does it every SPOT_CHECK_INTERVAL_MS): { results: [{ peer, checked, missing, ok }] }.
  app.post('/api/fairness/check', async () => {
    if (!peer.checkFairness) throw new P2PBackupError('ERR_UNSUPPORTED', 'this peer runs without the fairness layer');
    return { results: await peer.checkFairness() };
  });

  // ---- folders, snapshots, restore ----------------------------------------------------------------
  const folders = () => {
    if (!peer.folders) throw new P2PBackupError('ERR_UNSUPPORTED', 'this peer runs without folders');
    return peer.folders;
  };
  const str = (v: unknown, name: string): string => {
    if (typeof v !== 'string' || v === '') throw new P2PBackupError('ERR_BAD_REQUEST', `"${name}" must be a non-empty string`);
    return v;
  };
  const strList = (v: unknown, name: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new P2PBackupError('ERR_BAD_REQUEST', `"${name}" must be a list of strings`);
    return v;
  };
  app.get('/api/folders', async () => ({ folders: (await folders().listFolders()).map(publicFolder) }));
  app.post('/api/folders', async (req) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const rec = await folders().addFolder(str(b.path, 'path'), { watch: b.watch !== false, excludes: strList(b.excludes, 'excludes') });
    return publicFolder(rec);
  });
  app.delete('/api/folders', async (req) => {
    const q = req.query as Record<string, unknown>;
    return publicFolder(await folders().removeFolder(str(q.folder, 'folder')));
  });
  // Back up a folder now (registered unwatched if new). NDJSON: progress events, then the folder.
  app.post('/api/backup', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const path = str(b.path, 'path');
    const excludes = strList(b.excludes, 'excludes');
    const excludeIfPresent = strList(b.excludeIfPresent, 'excludeIfPresent');
    await ndjson(reply, async (onProgress) => publicFolder(await folders().backupNow(path, { excludes, excludeIfPresent, onProgress })));
  });
  app.get('/api/snapshots', async (req) => folders().snapshots(str((req.query as any).of, 'of')));
  app.get('/api/ls', async (req) => {
    const q = req.query as Record<string, unknown>;
    return { entries: await folders().ls(str(q.cap, 'cap'), typeof q.path === 'string' ? q.path : undefined) };
  });
  app.get('/api/diff', async (req) => {
    const q = req.query as Record<string, unknown>;
    return folders().diff(str(q.a, 'a'), str(q.b, 'b'));
  });
  app.post('/api/restore', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const cap = str(b.cap, 'cap');
    const target = str(b.target, 'target');
    const overwrite = b.overwrite === undefined ? undefined : str(b.overwrite, 'overwrite');
    if (overwrite !== undefined && !['never', 'if-changed', 'always'].includes(overwrite)) throw new P2PBackupError('ERR_BAD_REQUEST', '"overwrite" must be never, if-changed or always');
    const path = b.path === undefined ? undefined : str(b.path, 'path');
    await ndjson(reply, (onProgress, signal) => folders().restore(cap, target, { path, overwrite: overwrite as any, signal, onProgress }));
  });
  app.post('/api/forget', async (req) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const policy: Record<string, number> = {};
    for (const k of ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly']) {
      if (b[k] === undefined) continue;
      if (!Number.isInteger(b[k])) throw new P2PBackupError('ERR_BAD_REQUEST', `"${k}" must be an integer`);
      policy[k] = b[k] as number;
    }
    if (!Object.keys(policy).length) throw new P2PBackupError('ERR_BAD_REQUEST', 'give at least one --keep-* rule; forgetting every snapshot is not an accident we allow');
    return folders().forget(str(b.folder, 'folder'), policy);
  });

  // ---- health: check / verify / repair, the loop's state ------------------------------------------
  app.post('/api/check', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const cap = str(b.cap, 'cap');
    for (const k of ['deep', 'verify', 'repair']) if (b[k] !== undefined && typeof b[k] !== 'boolean') throw new P2PBackupError('ERR_BAD_REQUEST', `"${k}" must be true or false`);
    if (!peer.check) throw new P2PBackupError('ERR_UNSUPPORTED', 'this peer cannot check files');
    await ndjson(reply, (onProgress, signal) => peer.check!(cap, { deep: b.deep === true, verify: b.verify === true, repair: b.repair === true, signal, onProgress: onProgress as any }));
  });
  app.get('/api/health/state', async () => {
    const s = peer.healthState?.();
    if (!s) throw new P2PBackupError('ERR_UNSUPPORTED', 'the health loop is not running on this peer');
    return s;
  });

  app.get('/api/health/audits', async () => {
    const s = await peer.auditStats?.();
    if (!s) throw new P2PBackupError('ERR_UNSUPPORTED', 'the health loop is not running on this peer');
    return { peers: s };
  });

  return app;
}

/** Answer with NDJSON: the operation's progress events as { event } lines, then { result } or { error }.
 *  The operation's signal fires when the client goes away before the end. */
async function ndjson(reply: FastifyReply, op: (onProgress: (e: unknown) => void, signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const controller = new AbortController();
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) controller.abort(); });
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const line = (o: unknown) => reply.raw.write(JSON.stringify(o) + '\n');
  try {
    line({ result: await op((event) => line({ event }), controller.signal) });
  } catch (err) {
    line({ error: errorBody(err), status: httpStatusOf(err) });
  }
  reply.raw.end();
}

/** A folder as shown to users: never the write cap. */
function publicFolder(f: { id: string; path: string; rootCap: string; watch: boolean; excludes: string[]; state: string; lastSnapshot?: unknown; lastStats?: unknown; lastError?: string; pending: number }) {
  return { id: f.id, path: f.path, rootCap: f.rootCap, watch: f.watch, excludes: f.excludes, state: f.state, lastSnapshot: f.lastSnapshot ?? null, lastStats: f.lastStats ?? null, lastError: f.lastError ?? null, pending: f.pending };
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

