// `status` (this peer), `peers` (who is connected) and `ping` (one peer's round trip).
import type { Command } from 'commander';
import type { Context } from '../context.ts';
import { renderPeers, renderPing, renderStatus } from '../render.ts';

export function registerStatus(program: Command, ctx: Context): void {
  program
    .command('peers')
    .description('list connected peers and how each is reached (direct, own connection, relay)')
    .action(async () => {
      const api = await ctx.api();
      const r = await api.json<{ peers: { id: string; addresses: string[]; reach: string | null; relay: string | null }[] }>('GET', '/api/peers');
      ctx.out(r, () => renderPeers(r));
    });

  program
    .command('ping')
    .description('dial a peer by multiaddr and measure the round trip (shows when it goes through a relay)')
    .argument('<multiaddr>')
    .action(async (address: string) => {
      const api = await ctx.api();
      const r = await api.json<{ ms: number; relayed: boolean; remoteAddr: string }>('POST', '/api/ping', { address });
      ctx.out(r, () => renderPing(r));
    });

  program
    .command('status')
    .description('this peer: identity, addresses, how others reach it, storage offered and used, API')
    .action(async () => {
      const api = await ctx.api();
      const s = await api.json<any>('GET', '/api/status');
      // Per-peer balances; an older daemon without the fairness layer answers 404/501.
      const f = await api.json<any>('GET', '/api/fairness').catch(() => null);
      if (ctx.json() && f) s.fairnessReport = f;
      ctx.out(s, () => renderStatus(s, f));
    });
}
