// `sim incentives`: the incentives simulator (docs/INCENTIVES.md), run locally, no daemon.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { P2PBackupError } from '../../common/errors.ts';
import { intOption, numOption, type Context } from '../context.ts';

export function registerSim(program: Command, ctx: Context): void {
  const sim = program.command('sim').description('simulators that run locally (no daemon)');
  sim
    .command('incentives')
    .description('social optimum vs symmetric scheme vs revenue-maximizing monopoly over heterogeneity (docs/INCENTIVES.md)')
    .option('--samples <n>', 'users sampled (Monte Carlo)', intOption('--samples'))
    .option('--seed <n>', 'random seed (same seed, same output)', intOption('--seed'))
    .option('--ratio <x>', 'storage expansion n/k (default 5/3)', numOption('--ratio'))
    .option('--mean-a <x>', 'mean value of a backup (kept fixed by the sweep)', numOption('--mean-a'))
    .option('--mean-b <x>', 'mean cost per unit of space at the base point', numOption('--mean-b'))
    .option('--h-min <x>', 'sweep: lowest heterogeneity h', numOption('--h-min'))
    .option('--h-max <x>', 'sweep: highest heterogeneity h', numOption('--h-max'))
    .option('--points <n>', 'sweep: number of points (log-spaced)', intOption('--points'))
    .option('--out <file>', 'write the chart as SVG to this file')
    .action(async (o) => {
      const { simulateIncentives, formatTable, renderChart } = await import('../../fairness/sim/index.ts');
      let r;
      try {
        r = simulateIncentives({
          samples: o.samples,
          seed: o.seed,
          ratio: o.ratio,
          meanA: o.meanA,
          meanB: o.meanB,
          hMin: o.hMin,
          hMax: o.hMax,
          points: o.points
        });
      } catch (err) {
        if (err instanceof RangeError) throw new P2PBackupError('ERR_USAGE', err.message);
        throw err;
      }
      if (o.out) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(resolve(o.out), renderChart(r));
      }
      const json = { model: r.model, points: r.points.map((p) => ({ heterogeneity: p.heterogeneity, welfare: p.welfare })), threshold: r.threshold };
      ctx.out(json, () => formatTable(r) + (o.out ? `\nchart: ${resolve(o.out)}` : ''));
    });
}
