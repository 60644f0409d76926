#!/usr/bin/env node
// The `p2pbackup` command. The only module that touches process.argv, the console and process.exit.
import { buildProgram } from './program.ts';
import { exitCodeOf, EXIT } from './exit-codes.ts';
import { P2PBackupError } from '../common/errors.ts';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (err: any) {
  if (err?.code?.startsWith?.('commander.')) process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE);
  const json = process.argv.includes('--json');
  if (json) process.stdout.write(JSON.stringify({ error: { code: err?.code ?? 'ERR_INTERNAL', message: String(err?.message ?? err) } }) + '\n');
  else process.stderr.write(`p2pbackup: ${err instanceof P2PBackupError ? err.message : (err?.stack ?? String(err))}\n`);
  process.exit(exitCodeOf(err));
}
