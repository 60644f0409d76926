// The event stream (Server-Sent Events): sync-state changes, backup and restore progress, long operations
// (start, progress, end), folders' safety, peers coming and going, as `data: <json>` messages. Auth is the
// bearer header like every route (no token in the URL, which would end up in logs and history): browsers
// read it with fetch() streaming, scripts with
// `curl -N -H "authorization: Bearer …"`. A comment line every 15 s keeps proxies from closing it.
import type { ProgressEvent } from '../service.ts';
import { errors } from './schemas.ts';
import type { Routes } from './context.ts';

const HEARTBEAT_MS = 15_000;

export const eventRoutes: Routes = (app, { peer }) => {
  // Open streams end before the server closes (daemon shutdown), so `app.close()` never waits on them.
  const open = new Set<import('node:http').ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
  app.get(
    '/api/events',
    {
      schema: {
        summary:
          "Server-Sent Events: sync:folder:state, sync:folder:snapshot, backup:* progress, operation:start/progress/end (each with its operation), health:folders (every folder's safety, when it changes), peer:connect/disconnect",
        tags: ['events'],
        response: {
          200: { description: 'text/event-stream; each message is `data: {"type": …}`', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errors
        }
      }
    },
    async (_req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
      let id = 0;
      res.write(`retry: 2000\n: connected\n\n`);
      const unsubscribe = peer.subscribe((e: ProgressEvent) => {
        res.write(`id: ${++id}\ndata: ${JSON.stringify(e)}\n\n`);
      });
      const beat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      beat.unref();
      open.add(res);
      res.once('close', () => {
        clearInterval(beat);
        unsubscribe();
        open.delete(res);
      });
    }
  );
};
