// Long operations by id (backups, restores, checks, repairs, from the API, the sync engine or the health
// loop): the list, and cancelling one. The daemon is the source of truth: a page reloaded in the middle
// of a restore lists it here and follows it on /api/events (operation:start, operation:progress,
// operation:end). Cancelling is not a write: a read-only node cancels its own restores.
import { errors } from './schemas.ts';
import type { Routes } from './context.ts';

const operation = { $ref: 'Operation#' };

export const operationRoutes: Routes = (app, { peer }) => {
  app.get(
    '/api/operations',
    {
      schema: {
        summary: 'long operations running now (oldest first), then the latest finished ones (newest first)',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { operations: { type: 'array', items: operation } } }, ...errors }
      }
    },
    async () => ({ operations: peer.operations() })
  );

  app.post(
    '/api/operations/:id/cancel',
    {
      schema: {
        summary: 'cancel a running operation (answers at once; it ends as "cancelled" once it has stopped); a finished one is answered as it is',
        tags: ['operations'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: { 200: { type: 'object', properties: { operation } }, ...errors }
      }
    },
    async (req) => ({ operation: peer.cancelOperation((req.params as { id: string }).id) })
  );
};
