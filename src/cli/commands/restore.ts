// `restore CAP TARGET`: a snapshot (or a root cap's latest) into a local folder, with a status line or
// every file listed; files that could not be restored are listed and set the exit code.
import type { Command } from 'commander';
import { Option } from 'commander';
import { resolve } from 'node:path';
import { P2PBackupError } from '../../common/errors.ts';
import { resolveCaps, withCapFile, type Context } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { createStatus } from '../progress.ts';
import { renderRestore } from '../render.ts';

export function registerRestore(program: Command, ctx: Context): void {
  withCapFile(
    program
      .command('restore')
      .description('restore a snapshot (or a root cap: its latest snapshot) into TARGET')
      .usage('[options] <cap> <target>')
      .argument('[cap]', 'a snapshot or root cap, or - to read it from stdin')
      .argument('[target]', 'the folder to restore into')
      .option('--path <subpath>', 'restore only this path of the snapshot')
      .addOption(
        new Option('--overwrite <mode>', 'existing files: never, if-changed (size+mtime differ), always')
          .choices(['never', 'if-changed', 'always'])
          .default('if-changed')
      )
      .option('--preserve-special', 'restore setuid, setgid and sticky bits (dropped by default)')
      .option('--ignore-umask', "restore permission bits exactly as recorded (by default the daemon's umask applies)")
      .option('-v, --verbose', 'list every file as it is written (else a status line every half second)')
  ).action(async (arg: string | undefined, targetArg: string | undefined, o) => {
    const {
      caps: [cap],
      rest: [target]
    } = await resolveCaps(ctx.io, 1, [arg, targetArg], o.capFile);
    if (!target) throw new P2PBackupError('ERR_USAGE', "missing required argument 'target'");
    const api = await ctx.api();
    const json = ctx.json();
    const status = createStatus(ctx.io, json, o.verbose === true);
    const r = await api
      .operation(
        'POST',
        '/api/restore',
        {
          cap,
          target: resolve(target),
          path: o.path,
          overwrite: o.overwrite,
          verbose: o.verbose === true,
          preserveSpecial: o.preserveSpecial === true,
          ignoreUmask: o.ignoreUmask === true
        },
        {
          onEvent: (e) => {
            if (json) ctx.io.stdout.write(JSON.stringify({ type: 'status', event: e }) + '\n');
            else status.event(e);
          }
        }
      )
      .finally(() => status.stop());
    ctx.out({ type: 'summary', ...r }, () => renderRestore(r, resolve(target)));
    if (r.stats?.failed?.length) ctx.io.setExitCode(EXIT.INCOMPLETE);
  });
}
