// Reading a folder's history: `snapshots` (of a folder), `ls` (a directory of a snapshot), `diff` (two
// snapshots), and `forget` (drop snapshots by retention rules).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { intOption, isCap, resolveCaps, withCapFile, type Context } from '../context.ts';
import { renderDiff, renderForget, renderLs, renderPrune, renderSnapshots, type LsEntry, type PruneSummary } from '../render.ts';

export function registerSnapshots(program: Command, ctx: Context): void {
  withCapFile(
    program
      .command('snapshots')
      .description('list the snapshots of a folder (its root cap, path or id)')
      .argument('[rootcap|folder]', 'a root cap (or - to read it from stdin), a folder path or a folder id')
  ).action(async (arg: string | undefined, o) => {
    const {
      caps: [what]
    } = await resolveCaps(ctx.io, 1, [arg], o.capFile);
    const api = await ctx.api();
    const r = await api.json<{ rootCap: string; snapshots: { cap: string; time: number }[] }>(
      'GET',
      `/api/snapshots?of=${encodeURIComponent(isCap(what) ? what : resolve(what))}`
    );
    ctx.out(r, () => renderSnapshots(r));
  });

  withCapFile(
    program
      .command('ls')
      .description('list a directory of a snapshot (a snapshot cap, or a root cap for the latest)')
      .usage('[options] <cap> [path]')
      .argument('[cap]', 'a snapshot or root cap, or - to read it from stdin')
      .argument('[path]')
  ).action(async (arg: string | undefined, pathArg: string | undefined, o) => {
    const {
      caps: [cap],
      rest: [path]
    } = await resolveCaps(ctx.io, 1, [arg, pathArg], o.capFile);
    const api = await ctx.api();
    const q = new URLSearchParams({ cap });
    if (path) q.set('path', path);
    const r = await api.json<{ entries: LsEntry[] }>('GET', `/api/ls?${q}`);
    ctx.out(r, () => renderLs(r));
  });

  withCapFile(
    program
      .command('diff')
      .description('what changed between two snapshots')
      .usage('[options] <snap1> <snap2>')
      .argument('[snap1]', 'a snapshot cap, or - for the next line of stdin')
      .argument('[snap2]', 'a snapshot cap, or - for the next line of stdin'),
    2
  ).action(async (x: string | undefined, y: string | undefined, o) => {
    const {
      caps: [a, b]
    } = await resolveCaps(ctx.io, 2, [x, y], o.capFile);
    const api = await ctx.api();
    const r = await api.json<Record<string, string[]>>('GET', `/api/diff?${new URLSearchParams({ a, b })}`);
    ctx.out(r, () => renderDiff(r));
  });
}

export function registerForget(program: Command, ctx: Context): void {
  withCapFile(
    program
      .command('forget')
      .description("drop snapshots from a folder's head by retention rules (restic semantics)")
      .usage('[options] <folder>')
      .argument('[folder]', 'a folder path, or its root cap (- to read it from stdin)')
      .option('--keep-last <n>', 'keep the n latest', intOption('--keep-last'))
      .option('--keep-hourly <n>', 'keep the latest of each of the last n hours', intOption('--keep-hourly'))
      .option('--keep-daily <n>', 'keep the latest of each of the last n days', intOption('--keep-daily'))
      .option('--keep-weekly <n>', 'keep the latest of each of the last n weeks', intOption('--keep-weekly'))
      .option('--keep-monthly <n>', 'keep the latest of each of the last n months', intOption('--keep-monthly'))
      .option('--keep-yearly <n>', 'keep the latest of each of the last n years', intOption('--keep-yearly'))
      .option('--prune', 'then free what no kept snapshot needs (see `p2pbackup prune`)')
  ).action(async (arg: string | undefined, o) => {
    const {
      caps: [folder]
    } = await resolveCaps(ctx.io, 1, [arg], o.capFile);
    const { capFile: _files, ...rules } = o;
    const api = await ctx.api();
    const r = await api.json<{ keep: unknown[]; remove: unknown[]; prune?: PruneSummary }>('POST', '/api/forget', {
      folder: isCap(folder) ? folder : resolve(folder),
      ...rules
    });
    ctx.out(r, () => renderForget(r) + (r.prune ? `\n${renderPrune(r.prune)}` : ''));
  });

  program
    .command('prune')
    .description(
      'free what no kept snapshot of any of your folders needs: rewrite packs that are mostly dead, delete dead ones (safe to interrupt; run again to finish)'
    )
    .option('--dry-run', 'count only, change nothing')
    .action(async (o) => {
      const api = await ctx.api();
      const r = await api.json<PruneSummary>('POST', '/api/prune', { dryRun: o.dryRun === true });
      ctx.out(r, () => renderPrune(r, o.dryRun === true));
    });
}
