// `node bench/index.ts startup [--json] [--quick] [--runs N]`: what starting the program costs (issue 20: light on
// the owner's machine), for each way it can be run:
//   - "sources": src/cli/bin.ts, Node stripping the types of every module as it loads it;
//   - "dist modules": dist/cli/bin.js, the compiled modules loaded one by one;
//   - "bundle": dist/bundle/p2pbackup.js, the build's bundle (what `npm test` runs its daemons and commands from);
//   - "installed": bin/p2pbackup.js, the command as installed: commands from the bundle, the daemon from dist/'s
//     modules (bundled, a daemon moved bulk bytes on more CPU: bin/p2pbackup.js);
//   - "floor": `node` running an empty module: the runtime's own start and exit, no program.
// Rows: a daemon on a fresh home with no peers, from spawn to its daemon.json ("ready") and then SIGTERM to exit
// (the daemons' node flags and environment, src/peer/swarm.ts), and one short command (`--version`). Per row, the
// medians over --runs (default 7, --quick 3) of: CPU seconds (user + system, the whole life of the process, read
// by a preloaded module as it exits), ms to ready (daemons), wall ms, and peak RSS.
// Builds first (scripts/build.ts) when dist/ is missing or older than src/, as the other benches do.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../src/peer/swarm.ts';
import { initHome } from '../src/peer/init.ts';
import { formatTable, installedCommand, median, note, parseFlags, printJson } from './common.ts';
import { arg } from './transfer.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

export interface StartupRow {
  program: 'sources' | 'dist modules' | 'bundle' | 'installed' | 'floor';
  what: 'daemon start and stop' | 'command --version';
  runs: number;
  cpuSeconds: number;
  /** Spawn to daemon.json written (daemons only). */
  readyMs: number | null;
  wallMs: number;
  peakRssMB: number;
}

const PROGRAMS: Record<Exclude<StartupRow['program'], 'floor'>, string> = {
  sources: join(root, 'src', 'cli', 'bin.ts'),
  'dist modules': join(root, 'dist', 'cli', 'bin.js'),
  bundle: join(root, 'dist', 'bundle', 'p2pbackup.js'),
  installed: join(root, 'bin', 'p2pbackup.js')
};

// Preloaded into every measured process: its own CPU and peak RSS, written as it exits (SIGTERM included: the
// daemon exits through process.exit).
const PRELOAD = `import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
if (isMainThread) process.on('exit', () => {
  const u = process.resourceUsage();
  writeFileSync(process.env.P2PB_BENCH_RUSAGE, JSON.stringify({ cpu: (u.userCPUTime + u.systemCPUTime) / 1e6, rssKB: u.maxRSS }));
});
`;

interface Run {
  cpu: number;
  rssKB: number;
  readyMs: number | null;
  wallMs: number;
}

async function once(args: string[], env: NodeJS.ProcessEnv, dir: string, ready: ((pid: number) => Promise<boolean>) | null): Promise<Run> {
  const out = join(dir, 'rusage.json');
  await rm(out, { force: true });
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', join(dir, 'preload.mjs'), ...args], {
    stdio: 'ignore',
    env: { ...process.env, ...env, P2PB_BENCH_RUSAGE: out }
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  let readyMs: number | null = null;
  if (ready) {
    const deadline = Date.now() + 30_000;
    while (!(await ready(child.pid!))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`startup: ${args.join(' ')} did not get ready`);
      }
      await sleep(10);
    }
    readyMs = performance.now() - t0;
    child.kill('SIGTERM');
  }
  await exited;
  const wallMs = performance.now() - t0;
  const u = JSON.parse(await readFile(out, 'utf8'));
  return { cpu: u.cpu, rssKB: u.rssKB, readyMs, wallMs };
}

function rowOf(program: StartupRow['program'], what: StartupRow['what'], runs: Run[]): StartupRow {
  const ready = runs.map((r) => r.readyMs).filter((x): x is number => x !== null);
  return {
    program,
    what,
    runs: runs.length,
    cpuSeconds: +median(runs.map((r) => r.cpu)).toFixed(3),
    readyMs: ready.length ? Math.round(median(ready)) : null,
    wallMs: Math.round(median(runs.map((r) => r.wallMs))),
    peakRssMB: +(median(runs.map((r) => r.rssKB)) / 1024).toFixed(1)
  };
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const runs = Number(arg(flags.rest, '--runs', flags.quick ? '3' : '7'));
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer (got ${runs})`);
  installedCommand('startup'); // dist/ as built from today's src/
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-startup-'));
  const rows: StartupRow[] = [];
  try {
    await writeFile(join(dir, 'preload.mjs'), PRELOAD);
    await writeFile(join(dir, 'empty.mjs'), '');
    const home = join(dir, 'home');
    // Loopback only, no mDNS: a lone daemon that finds nobody, whatever else runs on this machine.
    await initHome(home, { mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] });
    const daemonJson = join(home, 'daemon.json');
    const daemonEnv = { ...DAEMON_ENV };
    const isReady = async (pid: number) => {
      try {
        return JSON.parse(await readFile(daemonJson, 'utf8')).pid === pid;
      } catch {
        return false;
      }
    };
    // Interleaved: run i of every program, then run i + 1, so a slow moment of the machine falls on all of them.
    const daemon: Record<string, Run[]> = {};
    const version: Record<string, Run[]> = {};
    const floor: Run[] = [];
    for (let i = 0; i < runs; i++) {
      for (const [name, path] of Object.entries(PROGRAMS)) {
        await rm(daemonJson, { force: true });
        (daemon[name] ??= []).push(await once([...DAEMON_NODE_FLAGS, path, '--home', home, 'daemon'], daemonEnv, dir, isReady));
        (version[name] ??= []).push(await once([path, '--version'], {}, dir, null));
      }
      floor.push(await once([join(dir, 'empty.mjs')], {}, dir, null));
      note(`startup: run ${i + 1} of ${runs}`);
    }
    for (const name of Object.keys(PROGRAMS) as (keyof typeof PROGRAMS)[]) rows.push(rowOf(name, 'daemon start and stop', daemon[name]));
    for (const name of Object.keys(PROGRAMS) as (keyof typeof PROGRAMS)[]) rows.push(rowOf(name, 'command --version', version[name]));
    rows.push(rowOf('floor', 'command --version', floor));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (flags.json) return printJson(rows);
  process.stdout.write(
    formatTable(
      ['what', 'program', 'runs', 'CPU s', 'ready ms', 'wall ms', 'peak RSS MiB'],
      rows.map((r) => [r.what, r.program, r.runs, r.cpuSeconds.toFixed(2), r.readyMs ?? '-', r.wallMs, r.peakRssMB.toFixed(1)])
    ) + '\n'
  );
}
