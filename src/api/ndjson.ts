// Long-running operations over HTTP: NDJSON lines of progress events, then the result or the error.
import type { FastifyReply } from 'fastify';
import { errorBody, httpStatusOf } from './errors.ts';
import { P2PBackupError } from '../common/errors.ts';

/** Answer with NDJSON: the operation's progress events as { event } lines, then { result } or { error }.
 *  The operation's signal fires when the client goes away before the end, unless `detach`: then it runs on
 *  (a web page reloaded in the middle of a restore finds it in GET /api/operations, which cancels it too). */
/**
 * An operation quiet for this long gets a `{ "heartbeat": seconds }` line: HTTP clients give up on a body that
 * sends nothing for a while (fetch, i.e. undici, after 300 s: a 1 GiB file's first backup over a 40 Mbit/s uplink
 * sent no progress line for longer and the CLI failed with "terminated"; bench wan), and proxies sooner.
 * Readers skip lines that are neither event, result nor error.
 */
export const NDJSON_HEARTBEAT_MS = 15_000;
/** Progress lines wait at most this long for others to go out with (a display refreshes no faster). */
export const NDJSON_FLUSH_MS = 50;
export const NDJSON_FLUSH_BYTES = 64 << 10;

export async function ndjson(
  reply: FastifyReply,
  op: (onProgress: (e: unknown) => void, signal: AbortSignal) => Promise<unknown>,
  o: { detach?: boolean; heartbeatMs?: number } = {}
): Promise<void> {
  const controller = new AbortController();
  if (!o.detach)
    reply.raw.on('close', () => {
      // A named reason: the operation ends "cancelled" with ERR_ABORTED, not a bare AbortError (ERR_INTERNAL).
      if (!reply.raw.writableFinished) controller.abort(new P2PBackupError('ERR_ABORTED', 'the client closed the connection'));
    });
  reply.hijack();
  reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
  // Lines go out together, NDJSON_FLUSH_MS after the first of them or once NDJSON_FLUSH_BYTES are queued: one
  // write (one syscall, one chunk) for many lines. A walk of unchanged files emits a line per file and yields
  // between directories, so a flush per turn of the event loop was a write per directory.
  let queued: string[] = [];
  let queuedBytes = 0;
  let timer: NodeJS.Timeout | null = null;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (!queued.length) return;
    if (!reply.raw.writableEnded && !reply.raw.destroyed) reply.raw.write(queued.join('')); // the client may be gone
    queued = [];
    queuedBytes = 0;
  };
  const started = Date.now();
  let lastLine = started;
  const line = (o: unknown) => {
    const text = JSON.stringify(o) + '\n';
    queued.push(text);
    queuedBytes += text.length;
    lastLine = Date.now();
    if (queuedBytes >= NDJSON_FLUSH_BYTES) flush();
    else timer ??= setTimeout(flush, NDJSON_FLUSH_MS);
  };
  const every = o.heartbeatMs ?? NDJSON_HEARTBEAT_MS;
  const heartbeat = setInterval(
    () => {
      if (Date.now() - lastLine >= every) line({ heartbeat: Math.round((Date.now() - started) / 1000) });
    },
    Math.max(10, Math.floor(every / 3))
  );
  try {
    line({ result: await op((event) => line({ event }), controller.signal) });
  } catch (err) {
    line({ error: errorBody(err), status: httpStatusOf(err) });
  } finally {
    clearInterval(heartbeat);
  }
  flush();
  reply.raw.end();
}

/** An AbortSignal that fires when the client goes away before the answer is complete. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
