// `backup DIR`: a new snapshot of a folder now (incremental), with a status line or every item listed.
import type { Command } from 'commander';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { P2PBackupError } from '../../common/errors.ts';
import { collect, type Context } from '../context.ts';
import { createStatus } from '../progress.ts';
import { renderBackup } from '../render.ts';
import { EXIT } from '../exit-codes.ts';

export function registerBackup(program: Command, ctx: Context): void {
  program
    .command('backup')
    .description('back up a folder now: a new snapshot, incremental (unchanged files are not read again)')
    .argument('<dir>')
    .option('--exclude <pattern>', 'skip paths matching this glob (repeatable)', collect, [])
    .option('--exclude-file <file>', 'read exclude patterns from a file (repeatable)', collect, [])
    .option('--exclude-if-present <name>', 'skip directories containing a file of this name (repeatable)', collect, [])
    .option('-v, --verbose', 'list every file and directory as it is done (else a status line every half second)')
    .action(async (dir: string, o) => {
      const abs = resolve(dir);
      const st = await stat(abs).catch(() => null);
      if (!st?.isDirectory()) throw new P2PBackupError('ERR_USAGE', `not a directory: ${dir}`);
      const excludes = [...o.exclude];
      for (const f of o.excludeFile) {
        const text = await readFile(f, 'utf8').catch((e) => {
          throw new P2PBackupError('ERR_USAGE', `cannot read exclude file ${f}: ${e.code ?? e.message}`);
        });
        excludes.push(
          ...text
            .split('\n')
            .map((l: string) => l.trim())
            .filter((l: string) => l && !l.startsWith('#'))
        );
      }
      const api = await ctx.api();
      const json = ctx.json();
      const status = createStatus(ctx.io, json, o.verbose === true);
      const folder = await api
        .operation(
          'POST',
          '/api/backup',
          { path: abs, excludes, excludeIfPresent: o.excludeIfPresent, verbose: o.verbose === true },
          {
            onEvent: (e) => {
              if (json) ctx.io.stdout.write(JSON.stringify({ type: 'status', event: e }) + '\n');
              else status.event(e);
            }
          }
        )
        .finally(() => status.stop());
      const stats = folder.lastStats ?? {};
      const seconds = status.summary().seconds;
      ctx.out(
        { type: 'summary', folder: folder.path, rootCap: folder.rootCap, snapshotCap: folder.lastSnapshot?.cap, state: folder.state, seconds, stats },
        () => renderBackup(folder, stats, seconds)
      );
      if (stats?.skipped?.length) ctx.io.setExitCode(EXIT.INCOMPLETE);
    });
}
