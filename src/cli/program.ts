// The `p2pbackup` program: global options and every command, one file per command or noun under
// commands/. Commands are thin clients of the daemon's API (but init, daemon, recover, swarm, demo, cap
// show, sim and bench, which run code of their own); their text output comes from render.ts. The program
// is given the process's streams (CliIo) instead of touching them, so only bin.ts does.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { CAP_INPUT_HELP, createContext, type CliIo } from './context.ts';
import { registerInit } from './commands/init.ts';
import { registerDaemon } from './commands/daemon.ts';
import { registerCap } from './commands/cap.ts';
import { registerFiles } from './commands/files.ts';
import { registerBackup } from './commands/backup.ts';
import { registerForget, registerSnapshots } from './commands/snapshots.ts';
import { registerRestore } from './commands/restore.ts';
import { registerWatch } from './commands/watch.ts';
import { registerRecover } from './commands/recover.ts';
import { registerCheck } from './commands/check.ts';
import { registerStatus } from './commands/status.ts';
import { registerSim } from './commands/sim.ts';
import { registerLocal } from './commands/local.ts';

/** The package's version, from its package.json (two levels up from src/cli/ and from dist/cli/ alike). */
export const PACKAGE_VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export function buildProgram(io: CliIo): Command {
  const program = new Command('p2pbackup')
    .description('Peer-to-peer encrypted backup: encrypt, erasure-code k-of-n, spread over a swarm.')
    .version(PACKAGE_VERSION, '-V, --version', 'print the version of p2pbackup')
    .option('--home <dir>', 'home folder of this peer (default: $P2PBACKUP_HOME or $XDG_DATA_HOME/p2pbackup)')
    .option('--json', 'machine-readable output on stdout')
    // Subcommands inherit these (commander copies them to each .command() made afterwards).
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', `\n${CAP_INPUT_HELP}`);
  const ctx = createContext(program, io);
  // The order of `p2pbackup --help`.
  registerInit(program, ctx);
  registerDaemon(program, ctx);
  registerCap(program, ctx);
  registerFiles(program, ctx);
  registerBackup(program, ctx);
  registerSnapshots(program, ctx);
  registerRestore(program, ctx);
  registerForget(program, ctx);
  registerWatch(program, ctx);
  registerRecover(program, ctx);
  registerCheck(program, ctx);
  registerStatus(program, ctx);
  registerSim(program, ctx);
  registerLocal(program, ctx);
  return program;
}
