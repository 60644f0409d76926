// Bench dispatcher: `node bench/index.ts <name> [--json] [--quick] [...]` runs bench/<name>.ts's run(argv).
import { pathToFileURL } from 'node:url';
import { installedCommand } from './common.ts';
// To add a bench: create bench/<name>.ts exporting `run(argv: string[]): Promise<void>` (use bench/common.ts)
// and add its name to BENCHES below.
const BENCHES: Record<string, string> = {
  coding: './coding.ts',
  'transfer-stream': './transfer-stream.ts',
  pipeline: './pipeline.ts',
  transfer: './transfer.ts',
  backup: './backup.ts',
  e2e: './e2e.ts',
  wire: './wire.ts',
  wan: './wan.ts',
  idle: './idle.ts',
  startup: './startup.ts',
  fuzz: './fuzz.ts'
};

const DAEMON_BENCHES = new Set(['transfer', 'backup', 'e2e', 'wire', 'wan', 'idle']);

interface BenchModule {
  run(argv: string[]): Promise<void>;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const available = Object.keys(BENCHES).join(', ');
  if (!name || name === '--help' || name === '-h') {
    process.stderr.write(`usage: node bench/index.ts <bench> [--json] [--quick]\navailable benches: ${available}\n`);
    return name ? 0 : 2;
  }
  const path = BENCHES[name];
  if (!path) {
    process.stderr.write(`unknown bench "${name}"; available benches: ${available}\n`);
    return 2;
  }
  // Benches that start daemons run them (and the commands they time) as installed: bin/p2pbackup.js (commands from the
  // bundle, daemons from dist/'s modules). Set before the bench's modules load, since src/peer/swarm.ts reads it once.
  // P2PBACKUP_BIN=src/cli/bin.ts measures the sources, dist/bundle/p2pbackup.js the bundle.
  if (DAEMON_BENCHES.has(name) && !process.env.P2PBACKUP_BIN) process.env.P2PBACKUP_BIN = installedCommand(name);
  const mod = (await import(path)) as BenchModule;
  await mod.run(rest);
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));
