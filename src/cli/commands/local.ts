// Commands that run peers or code of their own on this machine, no daemon of the home needed: `swarm`
// (N storage peers on loopback), `demo` (the main job end to end) and `bench`.
import type { Command } from 'commander';
import { Option } from 'commander';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { P2PBackupError } from '../../common/errors.ts';
import { intOption, type Context } from '../context.ts';
import { renderSwarmReady } from '../render.ts';

export function registerLocal(program: Command, ctx: Context): void {
  program
    .command('swarm')
    .description('start N storage peers on loopback (one process each) and make HOME a client joined to them')
    .addOption(new Option('--peers <n>', 'storage peers to start').default(5).argParser(intOption('--peers')))
    .action(async (o) => {
      const { runSwarm } = await import('../../peer/swarm.ts');
      await runSwarm({ dir: ctx.home(), peers: o.peers, onReady: (info) => ctx.out(info, () => renderSwarmReady(info)) });
    });

  program
    .command('demo')
    .description(
      'the main job on an embedded default: a local swarm on loopback backs up a folder (a sample, or DIR), loses two peers, and a fresh device restores it from the root cap'
    )
    .argument('[dir]', 'folder to back up (default: a generated sample tree)')
    .action(async (dir?: string) => {
      const { runDemo } = await import('../../peer/demo.ts');
      await runDemo({ source: dir, log: (line: string) => ctx.io.stdout.write(line + '\n') });
    });

  program
    .command('bench')
    .description('run a benchmark (coding, pipeline, transfer)')
    .argument('<name>')
    .allowUnknownOption()
    .argument('[args...]')
    .action(async (name: string, args: string[]) => {
      // The benches live in the repository, not in the npm package (package.json `files`).
      const entry = new URL('../../../bench/index.ts', import.meta.url);
      if (!existsSync(fileURLToPath(entry)))
        throw new P2PBackupError(
          'ERR_UNSUPPORTED',
          'the benchmarks run from a clone of the repository (`npm run bench -- NAME`); the installed package does not carry them'
        );
      const bench = await import(entry.href);
      ctx.io.setExitCode(await bench.main([name, ...args, ...(ctx.json() ? ['--json'] : [])]));
    });
}
