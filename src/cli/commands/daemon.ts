// `daemon`: run this home's peer in the foreground (src/daemon does the work and owns its signals).
import type { Command } from 'commander';
import type { Context } from '../context.ts';

export function registerDaemon(program: Command, ctx: Context): void {
  program
    .command('daemon')
    .description('run this peer: join the swarm, store shares for others, serve the local API')
    .option('--bootstrap <multiaddr...>', 'extra peers to join at start', [])
    .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'info')
    .option('--read-only', 'a light node: offer no storage, hold no write caps; browse and download by read cap')
    .option('--relay-server', 'relay storage traffic for members behind NAT (limits: config relay.rate, relay.dailyBytes)')
    .action(async (o) => {
      const { runDaemon } = await import('../../daemon/index.ts');
      await runDaemon(ctx.home(), {
        bootstrap: o.bootstrap,
        logLevel: o.logLevel,
        readOnly: o.readOnly === true,
        relayServer: o.relayServer === true,
        healthOverride: ctx.io.env.P2PBACKUP_HEALTH
      });
    });
}
