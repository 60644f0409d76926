// Prometheus metrics (prom-client), behind the token like the rest of the API: point Prometheus at it
// with `authorization: { credentials_file: HOME/api-token }`. Values are read from the peer at scrape time.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Routes } from './context.ts';

export const metricRoutes: Routes = (app, { peer }) => {
  const registry = new Registry();
  const status = () => peer.status();
  const gauge = (name: string, help: string, read: () => Promise<number> | number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(await read());
      }
    });
  /** A counter that follows a running total kept by the peer. */
  const follow = (name: string, help: string, read: () => number) => {
    let last = 0;
    return new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v > last) this.inc(v - last);
        last = v;
      }
    });
  };
  gauge('p2pbackup_storage_offered_bytes', 'Disk this peer offers to the swarm', async () => (await status()).storage.offered);
  gauge('p2pbackup_storage_used_bytes', 'Disk used by shares this peer stores for others', async () => (await status()).storage.used);
  gauge('p2pbackup_shares_held', 'Shares this peer stores for others', async () => (await status()).storage.shares);
  gauge('p2pbackup_peers_connected', 'Peers connected now', async () => (await status()).peersConnected);
  gauge('p2pbackup_repair_queue', 'Files the health loop has yet to check, and repair if needed, in its current pass (0 when it does not run)', () =>
    peer.repairQueue()
  );
  gauge('p2pbackup_folders', 'Folders backed up by this peer', async () => (await status()).folders.length);
  follow('p2pbackup_uploads_total', 'Files put into the swarm since start', () => peer.transfers().uploads);
  follow('p2pbackup_downloads_total', 'Files fetched from the swarm since start', () => peer.transfers().downloads);

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text exposition format)',
        tags: ['daemon'],
        response: { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } }
      }
    },
    async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics())
  );
};
