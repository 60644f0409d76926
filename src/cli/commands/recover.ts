// `recover RECOVERYCAP`: rebuild this device (configuration, identity, folders) from its recovery cap.
// Runs a peer itself (peer/recovery.ts); the steps go to stderr so stdout keeps the result.
import type { Command } from 'commander';
import { resolveCaps, withCapFile, type Context } from '../context.ts';
import { printable, renderRecover } from '../render.ts';

export function registerRecover(program: Command, ctx: Context): void {
  withCapFile(
    program
      .command('recover')
      .description('rebuild this device from its recovery cap: configuration, identity, folders (restored in place)')
      .usage('[options] <recoverycap>')
      .argument('[recoverycap]', 'the recovery cap (p2pb:mw:…), or - to read it from stdin')
      .option('--bootstrap <multiaddr...>', 'a way into the swarm (else mDNS on the LAN)', [])
      .option('--swarm-key-file <file>', 'the swarm key, for a private swarm')
      .option('--listen <multiaddr...>', 'listen addresses for this device (default: as before)')
  ).action(async (arg: string | undefined, o) => {
    const {
      caps: [cap]
    } = await resolveCaps(ctx.io, 1, [arg], o.capFile);
    const { recoverHome } = await import('../../peer/recovery.ts');
    const json = ctx.json();
    const home = ctx.home();
    const r = await recoverHome(home, cap, {
      bootstrap: o.bootstrap,
      swarmKeyFile: o.swarmKeyFile,
      listen: o.listen,
      onStep: json ? undefined : (l) => ctx.io.stderr.write(printable(l) + '\n')
    });
    ctx.out(r, () => renderRecover(r, home));
  });
}
