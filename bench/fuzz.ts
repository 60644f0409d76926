// Fuzz the decoders that read bytes from strangers: `npm run fuzz` (= node bench/index.ts fuzz), 100,000 seeded
// inputs per target by default; `--quick` runs 2,000 (what test/bench/fuzz.test.ts checks); `--inputs N`,
// `--seed S`, `--target NAME` (repeatable). A crash is any exception other than the target's named refusal;
// zero are expected. Peak memory (RSS, heap) is sampled as it runs. Exits 1 on any crash.
//
// Inputs are mostly structured mutations of valid inputs (fields of a frame header given odd values, cap bodies
// re-checksummed so they reach the field checks), the rest byte-level mutations and random bytes.
// To add a target (a directory, snapshot or pack decoder): append a FuzzTarget to TARGETS in ./fuzz-targets.ts.
import { formatTable, note, parseFlags, printJson } from './common.ts';
import { TARGETS, type FuzzTarget } from './fuzz-targets.ts';
import { int, mutateBytes, pick, randomBytes, rng } from './fuzz-mutate.ts';

export interface FuzzReport {
  target: string;
  inputs: number;
  seed: number;
  /** Inputs refused with the target's named error. */
  refused: number;
  accepted: number;
  crashes: number;
  /** The first few crashes: the error and the input (hex, at most 256 bytes shown). */
  samples: { error: string; input: string }[];
  ms: number;
  peakRssMiB: number;
  peakHeapMiB: number;
}

/** Run `inputs` inputs against one target: a fixed share of them structured, the rest byte mutations or random. */
export async function fuzzTarget(t: FuzzTarget, o: { inputs: number; seed: number }): Promise<FuzzReport> {
  const r = rng(o.seed);
  const seeds = t.seeds(r);
  const rep: FuzzReport = {
    target: t.name,
    inputs: o.inputs,
    seed: o.seed,
    refused: 0,
    accepted: 0,
    crashes: 0,
    samples: [],
    ms: 0,
    peakRssMiB: 0,
    peakHeapMiB: 0
  };
  const sample = () => {
    const m = process.memoryUsage();
    rep.peakRssMiB = Math.max(rep.peakRssMiB, m.rss / 2 ** 20);
    rep.peakHeapMiB = Math.max(rep.peakHeapMiB, m.heapUsed / 2 ** 20);
  };
  const t0 = performance.now();
  for (let i = 0; i < o.inputs; i++) {
    const roll = r();
    const seed = pick(r, seeds);
    let input: Uint8Array;
    if (roll < 0.05) input = randomBytes(r, int(r, 256));
    else if (roll < 0.55 && t.mutate) input = t.mutate(seed, r);
    else {
      input = seed;
      for (let k = 1 + int(r, 3); k > 0; k--) input = mutateBytes(input, r, pick(r, seeds));
    }
    try {
      await t.run(input);
      rep.accepted++;
    } catch (e) {
      if (t.expected(e)) rep.refused++;
      else {
        rep.crashes++;
        if (rep.samples.length < 5)
          rep.samples.push({ error: `${(e as Error)?.name}: ${(e as Error)?.message}`, input: Buffer.from(input.subarray(0, 256)).toString('hex') });
      }
    }
    if ((i & 1023) === 0) sample();
  }
  sample();
  rep.ms = Math.round(performance.now() - t0);
  rep.peakRssMiB = Math.round(rep.peakRssMiB);
  rep.peakHeapMiB = Math.round(rep.peakHeapMiB);
  return rep;
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const opt = (name: string) => {
    const i = flags.rest.indexOf(name);
    return i >= 0 ? flags.rest[i + 1] : undefined;
  };
  const inputs = Number(opt('--inputs') ?? (flags.quick ? 2_000 : 100_000));
  const seed = Number(opt('--seed') ?? 1);
  const names = flags.rest.flatMap((a, i) => (flags.rest[i - 1] === '--target' ? [a] : []));
  const targets = names.length ? TARGETS.filter((t) => names.includes(t.name)) : TARGETS;
  if (!Number.isSafeInteger(inputs) || inputs < 1 || !Number.isSafeInteger(seed) || !targets.length) {
    note(`usage: node bench/index.ts fuzz [--quick] [--json] [--inputs N] [--seed S] [--target ${TARGETS.map((t) => t.name).join('|')}]...`);
    process.exitCode = 2;
    return;
  }
  const reports: FuzzReport[] = [];
  for (const t of targets) {
    note(`fuzz ${t.name}: ${inputs} inputs, seed ${seed}`);
    reports.push(await fuzzTarget(t, { inputs, seed }));
  }
  if (flags.json) printJson(reports);
  else {
    process.stdout.write(
      formatTable(
        ['target', 'inputs', 'refused', 'accepted', 'crashes', 'ms', 'peak RSS MiB', 'peak heap MiB'],
        reports.map((x) => [x.target, x.inputs, x.refused, x.accepted, x.crashes, x.ms, x.peakRssMiB, x.peakHeapMiB])
      ) + '\n'
    );
    for (const x of reports) for (const s of x.samples) process.stdout.write(`crash in ${x.target}: ${s.error}\n  input ${s.input}\n`);
  }
  if (reports.some((x) => x.crashes > 0)) process.exitCode = 1;
}
