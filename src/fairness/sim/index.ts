// The incentive simulator: social optimum vs symmetric scheme vs revenue-maximizing monopoly for a
// population with exponential values and costs (Toka & Maillé's question; docs/INCENTIVES.md).
// const r = simulateIncentives({ ratio: 5 / 3, samples: 100_000 });
// console.log(formatTable(r)); await writeFile('chart.svg', renderChart(r));
export { simulateIncentives, formatTable, SIM_DEFAULTS, type IncentivesInit, type IncentivesResult, type IncentivesPoint } from './incentives.ts';
export { renderChart } from './chart.ts';
export {
  samplePopulation,
  welfare,
  symmetricWelfare,
  optimumWelfare,
  monopolyWelfare,
  symmetricExact,
  optimumExact,
  servedWelfareExact,
  type Welfare,
  type Population
} from './model.ts';
export { mulberry32, standardExponentials } from './rng.ts';
