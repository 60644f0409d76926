#!/usr/bin/env node
// The `p2pbackup` command. The only module that touches process.argv, the console, the process's
// streams and process.exit: the program gets them as a CliIo (context.ts); test/cli/layout.test.ts checks.
import { buildProgram } from './program.ts';
import { exitCodeOf, EXIT } from './exit-codes.ts';
import { renderError } from './render.ts';
import { P2PBackupError } from '../common/errors.ts';

const program = buildProgram({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  pid: process.pid,
  setExitCode: (code) => {
    process.exitCode = code;
  }
});
try {
  await program.parseAsync(process.argv);
} catch (err: any) {
  if (err?.code?.startsWith?.('commander.')) process.exit(err.exitCode === 0 ? 0 : EXIT.USAGE);
  const json = process.argv.includes('--json');
  if (json) process.stdout.write(JSON.stringify({ error: { code: err?.code ?? 'ERR_INTERNAL', message: String(err?.message ?? err) } }) + '\n');
  else process.stderr.write(`p2pbackup: ${renderError(err, err instanceof P2PBackupError)}\n`);
  process.exit(exitCodeOf(err));
}
