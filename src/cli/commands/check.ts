// `check CAP`: who holds a file's shares; --deep walks a snapshot or folder, --verify reads every block,
// --repair rebuilds what is missing. An unrecoverable result sets the exit code.
import type { Command } from 'commander';
import { resolveCaps, withCapFile, type Context } from '../context.ts';
import { EXIT } from '../exit-codes.ts';
import { renderCheck } from '../render.ts';

export function registerCheck(program: Command, ctx: Context): void {
  withCapFile(
    program
      .command('check')
      .description('who holds the shares of a file (read or verify cap); --deep: everything a snapshot or folder root cap needs')
      .usage('[options] <cap>')
      .argument('[cap]', 'a read, verify, snapshot or root cap, or - to read it from stdin')
      .option('--deep', 'walk a snapshot or folder root cap and check every snapshot, directory and file')
      .option('--verify', 'download every share and check every block against the cap (no decryption)')
      .option('--repair', 'rebuild missing or corrupt shares and place them on new distinct peers')
  ).action(async (arg: string | undefined, o) => {
    const {
      caps: [cap]
    } = await resolveCaps(ctx.io, 1, [arg], o.capFile);
    const api = await ctx.api();
    const json = ctx.json();
    const r = await api.operation(
      'POST',
      '/api/check',
      { cap, deep: o.deep === true, verify: o.verify === true, repair: o.repair === true },
      {
        onEvent: (e) => {
          if (!json && e.type === 'client:check:file') ctx.io.stderr.write(`\rchecked ${e.done}/${e.total}`);
        }
      }
    );
    if (!json && o.deep) ctx.io.stderr.write('\n');
    ctx.out(r, () => renderCheck(r));
    if (!r.recoverable) ctx.io.setExitCode(EXIT.NOT_ENOUGH_SHARES);
  });
}
