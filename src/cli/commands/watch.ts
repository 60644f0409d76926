// `watch add|remove|list`: the folders the daemon mirrors continuously.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { collect, isCap, resolveCaps, withCapFile, type Context } from '../context.ts';
import { renderWatchAdd, renderWatchList, renderWatchRemove } from '../render.ts';

export function registerWatch(program: Command, ctx: Context): void {
  const watchCmd = program.command('watch').description('folders the daemon mirrors continuously');
  watchCmd
    .command('add')
    .argument('<dir>')
    .option('--exclude <pattern>', 'skip paths matching this glob (repeatable)', collect, [])
    .action(async (dir: string, o) => {
      const api = await ctx.api();
      const f = await api.json<any>('POST', '/api/folders', { path: resolve(dir), watch: true, excludes: o.exclude });
      ctx.out(f, () => renderWatchAdd(f));
    });
  withCapFile(
    watchCmd.command('remove').usage('[options] <dir|id>').argument('[dir|id]', 'a folder path, its id, or its root cap (- to read it from stdin)')
  ).action(async (arg: string | undefined, o) => {
    const {
      caps: [dir]
    } = await resolveCaps(ctx.io, 1, [arg], o.capFile);
    const api = await ctx.api();
    const f = await api.json<any>(
      'DELETE',
      `/api/folders?folder=${encodeURIComponent(isCap(dir) ? dir : dir.includes('/') || dir === '.' ? resolve(dir) : dir)}`
    );
    ctx.out(f, () => renderWatchRemove(f));
  });
  watchCmd.command('list').action(async () => {
    const api = await ctx.api();
    const r = await api.json<{ folders: any[] }>('GET', '/api/folders');
    ctx.out(r, () => renderWatchList(r));
  });
}
