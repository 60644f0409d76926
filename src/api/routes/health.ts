// Health (check / verify / repair, the loop's state, audits), fair sharing (balances, spot checks) and
// reachability (ping a peer by multiaddr).
import { UnsupportedError } from '../../common/errors.ts';
import { ndjson } from '../ndjson.ts';
import { anyObject, capString, detach, errors, ndjsonResponse } from './schemas.ts';
import type { Routes } from './context.ts';

export const healthRoutes: Routes = (app, { peer }) => {
  app.post(
    '/api/check',
    {
      schema: {
        summary: 'check a cap: shares found, hosts, recoverable; --verify reads every block, --repair restores n shares',
        tags: ['health'],
        body: {
          type: 'object',
          required: ['cap'],
          additionalProperties: false,
          properties: { cap: capString, deep: { type: 'boolean' }, verify: { type: 'boolean' }, repair: { type: 'boolean' }, detach }
        },
        response: { 200: ndjsonResponse('progress events, then { result: report }'), ...errors }
      }
    },
    async (req, reply) => {
      const b = req.body as { cap: string; deep?: boolean; verify?: boolean; repair?: boolean; detach?: boolean };
      await ndjson(
        reply,
        (onProgress, signal) =>
          peer.check(b.cap, { deep: b.deep === true, verify: b.verify === true, repair: b.repair === true, signal, onProgress: onProgress as any }),
        { detach: b.detach }
      );
    }
  );

  app.get(
    '/api/health/state',
    {
      schema: {
        summary: "the health loop's last round, queue, durability, and each folder's safety (state, sentence inputs, the model's inputs)",
        tags: ['health'],
        response: { 200: anyObject, ...errors }
      }
    },
    async () => {
      const s = peer.healthState();
      if (!s) throw new UnsupportedError('the health loop is not running on this peer');
      return s;
    }
  );

  app.get(
    '/api/health/audits',
    { schema: { summary: 'audit results and availability per peer', tags: ['health'], response: { 200: anyObject, ...errors } } },
    async () => {
      const s = await peer.auditStats();
      if (!s) throw new UnsupportedError('the health loop is not running on this peer');
      return { peers: s };
    }
  );

  app.get(
    '/api/fairness',
    { schema: { summary: 'what I offer, what I use, per-peer balances', tags: ['fairness'], response: { 200: anyObject, ...errors } } },
    async () => {
      return peer.fairnessReport();
    }
  );

  // Spot-check now (the daemon also does it periodically): { results: [{ peer, checked, missing, ok }] }.
  app.post(
    '/api/fairness/check',
    { schema: { summary: 'spot-check now what I placed on others', tags: ['fairness'], response: { 200: anyObject, ...errors } } },
    async () => {
      return { results: await peer.checkFairness() };
    }
  );

  app.post(
    '/api/ping',
    {
      schema: {
        summary: 'dial a peer by multiaddr and measure the round trip',
        tags: ['daemon'],
        body: { type: 'object', required: ['address'], additionalProperties: false, properties: { address: { type: 'string', minLength: 1 } } },
        response: { 200: { type: 'object', properties: { ms: { type: 'number' }, relayed: { type: 'boolean' }, remoteAddr: { type: 'string' } } }, ...errors }
      }
    },
    async (req) => peer.ping((req.body as { address: string }).address)
  );
};
