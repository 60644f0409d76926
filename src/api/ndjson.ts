// Long-running operations over HTTP: NDJSON lines of progress events, then the result or the error.
import type { FastifyReply } from 'fastify';
import { errorBody, httpStatusOf } from './errors.ts';

/** Answer with NDJSON: the operation's progress events as { event } lines, then { result } or { error }.
 *  The operation's signal fires when the client goes away before the end. */
export async function ndjson(reply: FastifyReply, op: (onProgress: (e: unknown) => void, signal: AbortSignal) => Promise<unknown>): Promise<void> {
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

/** An AbortSignal that fires when the client goes away before the answer is complete. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) controller.abort(); });
  return controller.signal;
}
