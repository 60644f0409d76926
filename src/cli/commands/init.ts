// `init` (a new home) and `swarm-key` (a new private-swarm key): no daemon needed.
import QRCode from 'qrcode';
import type { Command } from 'commander';
import { intOption, type Context } from '../context.ts';
import { renderInit } from '../render.ts';

export function registerInit(program: Command, ctx: Context): void {
  program
    .command('init')
    .description('create a peer home: identity, configuration, API token (and a swarm key)')
    .option('--bootstrap <multiaddr...>', 'peers to join at start', [])
    .option('--listen <multiaddr...>', 'listen addresses')
    .option('--announce <multiaddr...>', 'addresses to announce')
    .option('--offer <size>', 'disk offered to the swarm, e.g. 20GiB')
    .option('--swarm-key', 'create a new private-swarm key in HOME/swarm.key (share it with your peers)')
    .option('--swarm-key-file <file>', 'join a private swarm: copy this swarm key into the home')
    .option('--no-mdns', 'do not discover peers on the LAN')
    .option('--api-port <port>', 'local API port (default: any free port)', intOption('--api-port'))
    .option('--relay-server', 'relay storage traffic for members behind NAT (a peer with a public address; limits: config relay.rate, relay.dailyBytes)')
    .option('--relay-client', 'hold relay reservations even when dialled back (default: only while not reachable directly)')
    .option('--upnp', 'ask the router for a port mapping (UPnP)')
    .option('--api-host <address>', 'bind the API here instead of 127.0.0.1 (anyone who can reach it still needs the token)')
    .action(async (o) => {
      const { initHome } = await import('../../peer/init.ts');
      const r = await initHome(ctx.home(), {
        bootstrap: o.bootstrap,
        listen: o.listen,
        announce: o.announce,
        offer: o.offer,
        mdns: o.mdns,
        swarmKey: o.swarmKey === true,
        swarmKeyFile: o.swarmKeyFile,
        apiPort: o.apiPort,
        apiHost: o.apiHost,
        relayServer: o.relayServer,
        relayClient: o.relayClient,
        upnp: o.upnp
      });
      const qr = ctx.json() ? '' : await QRCode.toString(r.recoveryCap, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
      ctx.out(r, () => renderInit(r, qr));
    });

  program
    .command('swarm-key')
    .description('print a new private-swarm key (the swarm.key format); give the file to every peer')
    .action(async () => {
      const { generateSwarmKey } = await import('../../net/index.ts');
      ctx.io.stdout.write(generateSwarmKey());
    });
}
