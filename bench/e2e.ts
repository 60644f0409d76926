// `node bench/index.ts e2e [--json] [--quick] [--tree PATH] [--file-size 1GiB] [--peers 5,10,20,50] [--settle 300] [--loopback] [--restic PATH]`:
// end to end across hosts. For a real tree (default /usr/share) and one random file (default 1 GiB):
// backup (first), backup again with nothing changed, and restore, by p2pbackup with N storage peers for
// every N in --peers (default 5,10,20,50), each peer and the client in its own network namespace
// (test/multihost/fixture.ts: a bridge in a hub namespace, one veth per host) when run as root with a
// working `ip netns`, else (or with --loopback) all on loopback; and by restic (the Debian package, a
// local repository) once per dataset, as it has no peers, in the same run.
// --quick: /usr/share/zoneinfo, 64 MiB, peers 5,10.
//
// What is measured (bench/backup.ts's measureOp, walk, runRestic are reused):
// - Wall time of each op of ours is the CLI command's (`p2pbackup --json backup DIR`, `restore CAP TARGET`)
//   run inside the client's namespace, node start-up included (~0.3 s), the daemons already up; restic's
//   is its whole command. MB/s = dataset bytes (1e6) / wall s.
// - Peak RSS MiB: the client daemon's VmHWM during the op (reset before it through clear_refs), and per
//   storage peer its VmHWM during the op: the max and the median over the N peers ("per-peer memory").
// - CPU s: user+sys summed over the client daemon and all N peers (not the CLI process).
// - Every measured op starts after sync(1) (measureOp), not timed: none waits for the last one's writeback.
// - A swarm just started is busy (every peer dials, handshakes and identifies every other and fills its DHT
//   table: 50 peers took more than a core for minutes), which no long-running swarm is: before its first op a
//   swarm settles, in windows of SETTLE_WINDOW_S, until a window costs at most SETTLE_PCT_PER_PROCESS of a core
//   per process and has stopped moving (SETTLE_FALLING..SETTLE_RISING of the window before it), or --settle SECONDS
//   (default 300) ran out; a window never runs past that. The per-process bound alone let a 50-peer swarm start
//   its ops 10 s after it was up, at 50-70% of a core, while its start-up work was still dying down (it costs
//   16-24% once it has). The rows say how long settling took and what the swarm's background cost was in its
//   last window ("bg CPU %", of one core, all processes): the load the ops shared the cores with.
// - Each (dataset, N) starts from a fresh swarm; every restore is verified (file count, bytes, and the
//   single file's sha256). Results: bench/results/e2e.json (rows + setup) and bench/results/e2e.svg (wall
//   time vs peers, one line per dataset and op, restic as a flat dashed line).
import { spawn } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSize } from '../src/store/index.ts';
import { NetFixture, skipReason, BIN, type CliResult } from '../test/multihost/fixture.ts';
import { datasetMakers, findRestic, measureOp, runRestic, verifyRestore, walk, OPS, type Dataset, type Measure, type Op } from './backup.ts';
import { formatTable, median, note, parseFlags, printJson } from './common.ts';
import { arg, openScope, type BenchScope } from './transfer.ts';
import { measureWindow } from './idle.ts';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const OP_TIMEOUT_MS = 6 * 3_600_000;
/** Settling (see the header): window length, s, and the background CPU a settled swarm may cost, % of a core per process. */
const SETTLE_WINDOW_S = 10;
const SETTLE_PCT_PER_PROCESS = 2;
/**
 * ... and a settled swarm's window costs between these fractions of the window before it: no longer falling, and
 * not rising either. "At least 0.8x" alone let a 50-peer swarm start its ops on a window of 46.1% after one of
 * 19.6% (windows 48.6, 19.6, 46.1), i.e. still swinging with its start-up work.
 */
const SETTLE_FALLING = 0.8;
const SETTLE_RISING = 1.25;
/**
 * A window at most this fraction of the bound is quiet whatever the one before it was: a settled 5-peer swarm
 * swings between 0.1% and 1.9% of a core (measured), a ratio that means nothing there.
 */
const SETTLE_QUIET = 0.25;

/** Whether a window of `cpuPct` (after one of `before`, null for the first) ends settling under `limit`. */
export function settledWindow(cpuPct: number, before: number | null, limit: number): boolean {
  if (before === null || cpuPct > limit) return false;
  return cpuPct <= SETTLE_QUIET * limit || (cpuPct >= SETTLE_FALLING * before && cpuPct <= SETTLE_RISING * before);
}

export interface E2eRow {
  dataset: string;
  op: Op;
  impl: 'p2pbackup' | 'restic';
  /** Storage peers (null for restic). */
  peers: number | null;
  mode: 'netns' | 'loopback' | 'local';
  seconds: number;
  mbps: number;
  /** Client daemon (ours) / restic process peak RSS, MiB. */
  peakRssMB: number;
  /** Ours: the storage peers' peak RSS during the op, MiB: highest and median. */
  peerRssMaxMB?: number;
  peerRssMedianMB?: number;
  cpuSeconds: number;
  files: number;
  bytes: number;
  /** Ours: seconds the swarm settled before its first op, and its background CPU then (% of one core, all processes). */
  settleSeconds?: number;
  bgCpuPct?: number;
}

/**
 * Wait until the swarm's processes, together, cost at most SETTLE_PCT_PER_PROCESS of a core each over a
 * SETTLE_WINDOW_S window that is within SETTLE_FALLING..SETTLE_RISING of the window before it, or `maxSeconds` passed (the
 * last window is cut to what is left): seconds waited and the last window's CPU (% of one core, summed).
 */
async function settle(pids: number[], maxSeconds: number): Promise<{ seconds: number; cpuPct: number }> {
  const t0 = performance.now();
  const limit = SETTLE_PCT_PER_PROCESS * pids.length;
  let before: number | null = null;
  for (;;) {
    const left = maxSeconds - (performance.now() - t0) / 1000;
    const window = Math.max(1, Math.min(SETTLE_WINDOW_S, Math.round(left)));
    const w = await measureWindow(pids, window, AbortSignal.timeout(2 * window * 1000 + 5000));
    const cpuPct = +w.reduce((a, x) => a + x.cpuPct, 0).toFixed(1);
    const seconds = +((performance.now() - t0) / 1000).toFixed(0);
    note(`e2e:   settling: ${seconds} s, the swarm's CPU ${cpuPct}% of a core (settled at <= ${limit}% once neither falling nor rising)`);
    if (settledWindow(cpuPct, before, limit) || seconds + 1 > maxSeconds) return { seconds, cpuPct };
    before = cpuPct;
  }
}

/** A running swarm of ours, in namespaces or on loopback: the CLI against its client, and the pids. */
interface OurSwarm {
  cli(args: string[]): Promise<CliResult>;
  pids: number[];
  /** A directory the client may restore into. */
  dir: string;
  stop(): Promise<void>;
}

function cliLocal(home: string, args: string[]): Promise<CliResult> {
  const t0 = Date.now();
  return new Promise((res) => {
    const child = spawn(process.execPath, [BIN, '--home', home, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    child.on('close', (code) => res({ code: code ?? 1, stdout, stderr, ms: Date.now() - t0 }));
  });
}

async function startNetns(peers: number): Promise<OurSwarm> {
  const net = new NetFixture({ prefix: 'p2pbn', subnet: '10.79.0', port: 4001 });
  try {
    await net.createHub();
    const storage = Array.from({ length: peers }, (_, i) => net.addHost(`s${i + 1}`, 11 + i));
    const client = net.addHost('c', 200);
    for (const [i, h] of storage.entries()) await net.startDaemon(h, i === 0 ? [] : storage[0].member!.addresses, '8GiB', { graceBytes: 8 * 2 ** 30 });
    // The client bootstraps to (at most) 10 peers; it finds the rest through the DHT.
    await net.startDaemon(
      client,
      storage.slice(0, 10).flatMap((h) => h.member!.addresses),
      '0',
      { allowAllPaths: true }
    );
    await net.waitPeers(
      client,
      storage.map((h) => h.member!.peerId),
      Math.min(peers, 5)
    );
    return {
      cli: (args) => net.cli(client, args, OP_TIMEOUT_MS),
      pids: [client.member!.pid, ...storage.map((h) => h.member!.pid)],
      dir: net.dir,
      stop: () => net.cleanup()
    };
  } catch (err) {
    await net.cleanup();
    throw err;
  }
}

async function startLoopback(scope: BenchScope, sub: string, peers: number): Promise<OurSwarm> {
  const swarm = await scope.startSwarm(sub, peers);
  const home = join(scope.dir, sub);
  return {
    cli: (args) => cliLocal(home, args),
    pids: [swarm.info.client.pid, ...swarm.info.peers.map((p) => p.pid)],
    dir: home,
    stop: async () => {
      await swarm.stop();
      await scope.discard(home);
    }
  };
}

type OurMeasure = Measure & { peerRssMB: number[] };

async function runOurs(scope: BenchScope, swarm: OurSwarm, ds: Dataset, flagsOut: { cumulativeRss: boolean }): Promise<Record<Op, OurMeasure>> {
  const summaryOf = (op: string, r: CliResult) => {
    if (r.code !== 0) {
      // --json puts the error on stdout as a JSON line; stderr has the rest.
      const said = [...r.stdout.trim().split('\n').slice(-2), ...r.stderr.trim().split('\n').slice(-3)].filter(Boolean).join(' | ').slice(-1500);
      throw new Error(`p2pbackup ${op} of ${ds.name} exited ${r.code} after ${(r.ms / 1000).toFixed(1)} s: ${said}`);
    }
    const s = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.type === 'summary');
    if (!s) throw new Error(`p2pbackup ${op} of ${ds.name}: no summary line`);
    return s;
  };
  const res = {} as Record<Op, OurMeasure>;
  let rootCap = '';
  for (const op of ['backup', 'backup-unchanged'] as const) {
    const { r, m } = await measureOp(swarm.pids, () => swarm.cli(['--json', 'backup', ds.path]), flagsOut);
    const s = summaryOf(op, r);
    const st = s.stats;
    if (st.skipped?.length) throw new Error(`p2pbackup ${op} of ${ds.name} skipped ${st.skipped.length}, e.g. ${st.skipped[0].path}: ${st.skipped[0].error}`);
    if (st.files !== ds.files || st.bytesTotal !== ds.bytes)
      throw new Error(`p2pbackup ${op} of ${ds.name}: ${st.files} files / ${st.bytesTotal} bytes, the dataset has ${ds.files} / ${ds.bytes}`);
    if (op === 'backup-unchanged' && st.unchanged !== st.files) note(`e2e: warning: ${op}: only ${st.unchanged} of ${st.files} files found unchanged`);
    rootCap = s.rootCap;
    res[op] = { ...m, files: st.files, bytes: st.bytesTotal };
  }
  const target = join(swarm.dir, 'restored');
  const { r, m } = await measureOp(swarm.pids, () => swarm.cli(['--json', 'restore', rootCap, target, '--overwrite', 'always']), flagsOut);
  summaryOf('restore', r);
  res.restore = { ...m, ...(await verifyRestore('p2pbackup', ds, target)) };
  await scope.discard(target); // not deleted now: see BenchScope.discard
  return res;
}

/** Wall time vs peers, one polyline per (dataset, op); restic as a dashed horizontal line per (dataset, op). */
export function chart(rows: E2eRow[]): string {
  const W = 760,
    H = 420,
    L = 60,
    R = 230,
    T = 30,
    B = 50;
  const ours = rows.filter((r) => r.impl === 'p2pbackup');
  const peersAll = [...new Set(ours.map((r) => r.peers!))].sort((a, b) => a - b);
  const maxS = Math.max(1e-3, ...rows.map((r) => r.seconds)) * 1.1;
  const x = (p: number) => (peersAll.length < 2 ? L + (W - L - R) / 2 : L + ((p - peersAll[0]) / (peersAll.at(-1)! - peersAll[0])) * (W - L - R));
  const y = (s: number) => T + (1 - s / maxS) * (H - T - B);
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="13">p2pbackup e2e: wall time vs storage peers (dashed: restic, no peers)</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">storage peers</text>`,
    `<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">seconds</text>`
  ];
  for (const p of peersAll)
    parts.push(
      `<line x1="${x(p)}" y1="${H - B}" x2="${x(p)}" y2="${H - B + 5}" stroke="black"/><text x="${x(p)}" y="${H - B + 17}" text-anchor="middle">${p}</text>`
    );
  for (let i = 0; i <= 5; i++) {
    const s = (maxS / 5) * i;
    parts.push(
      `<line x1="${L - 5}" y1="${y(s)}" x2="${W - R}" y2="${y(s)}" stroke="#ddd"/><text x="${L - 8}" y="${y(s) + 4}" text-anchor="end">${s < 10 ? s.toFixed(1) : s.toFixed(0)}</text>`
    );
  }
  const series = [...new Set(ours.map((r) => `${r.dataset}|${r.op}`))];
  series.forEach((key, i) => {
    const [dataset, op] = key.split('|');
    const c = colors[i % colors.length];
    const pts = ours.filter((r) => r.dataset === dataset && r.op === op).sort((a, b) => a.peers! - b.peers!);
    parts.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((r) => `${x(r.peers!).toFixed(1)},${y(r.seconds).toFixed(1)}`).join(' ')}"/>`
    );
    for (const r of pts)
      parts.push(
        `<circle cx="${x(r.peers!).toFixed(1)}" cy="${y(r.seconds).toFixed(1)}" r="3" fill="${c}"><title>${esc(`${dataset} ${op}, ${r.peers} peers: ${r.seconds} s`)}</title></circle>`
      );
    const restic = rows.find((r) => r.impl === 'restic' && r.dataset === dataset && r.op === op);
    if (restic)
      parts.push(
        `<line x1="${L}" y1="${y(restic.seconds).toFixed(1)}" x2="${W - R}" y2="${y(restic.seconds).toFixed(1)}" stroke="${c}" stroke-dasharray="5,4"/>`
      );
    const ly = T + 10 + i * 16;
    parts.push(
      `<line x1="${W - R + 10}" y1="${ly}" x2="${W - R + 30}" y2="${ly}" stroke="${c}" stroke-width="2"/><text x="${W - R + 35}" y="${ly + 4}">${esc(`${dataset.length > 22 ? '…' + dataset.slice(-21) : dataset}: ${op}`)}</text>`
    );
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const tree = resolve(arg(flags.rest, '--tree', flags.quick ? '/usr/share/zoneinfo' : '/usr/share'));
  const fileSize = parseSize(arg(flags.rest, '--file-size', flags.quick ? '64MiB' : '1GiB'));
  const peerCounts = arg(flags.rest, '--peers', flags.quick ? '5,10' : '5,10,20,50')
    .split(',')
    .map(Number);
  if (peerCounts.some((p) => !Number.isInteger(p) || p < 4 || p > 60)) throw new Error('--peers: a comma-separated list of whole numbers in 4..60 (happy = 4)');
  const maxSettle = Number(arg(flags.rest, '--settle', '300'));
  if (!(maxSettle >= 0)) throw new Error('--settle: seconds, a number >= 0');
  const resticArg = flags.rest.includes('--restic') ? arg(flags.rest, '--restic', '') : null;
  const why = flags.rest.includes('--loopback') ? 'forced by --loopback' : skipReason('p2pbn');
  const mode: 'netns' | 'loopback' = why ? 'loopback' : 'netns';
  note(`e2e: ${mode === 'netns' ? 'every peer in its own network namespace' : `loopback (${why})`}; peers ${peerCounts.join(', ')}`);

  const found = findRestic(resticArg);
  const restic = 'restic' in found ? found.restic : null;
  note(`e2e: ${'unavailable' in found ? `${found.unavailable}; p2pbackup only` : `comparing with ${found.version}`}`);
  const gnuTime = await access('/usr/bin/time', fsc.X_OK).then(
    () => true,
    () => false
  );

  const scope = await openScope('e2e');
  const rows: E2eRow[] = [];
  const failures: { dataset: string; peers: number; error: string }[] = [];
  const rssFlags = { cumulativeRss: false };
  const started = new Date().toISOString();
  try {
    const datasets = datasetMakers(scope, 'e2e', tree, fileSize);
    for (const make of datasets) {
      const ds = await make();
      note(`e2e: dataset ${ds.name}: ${ds.files} files, ${(ds.bytes / 1e6).toFixed(1)} MB; warming the page cache`);
      await walk(ds.path, true);
      const push = (impl: E2eRow['impl'], peers: number | null, op: Op, m: Measure & { peerRssMB?: number[] }, bg?: { seconds: number; cpuPct: number }) => {
        const row: E2eRow = {
          dataset: ds.name,
          op,
          impl,
          peers,
          mode: impl === 'restic' ? 'local' : mode,
          seconds: +m.seconds.toFixed(3),
          mbps: +(ds.bytes / 1e6 / m.seconds).toFixed(2),
          peakRssMB: m.peakRssMB,
          ...(m.peerRssMB ? { peerRssMaxMB: Math.max(...m.peerRssMB), peerRssMedianMB: median(m.peerRssMB) } : {}),
          cpuSeconds: +m.cpuSeconds.toFixed(1),
          files: m.files,
          bytes: m.bytes,
          ...(bg ? { settleSeconds: bg.seconds, bgCpuPct: bg.cpuPct } : {})
        };
        rows.push(row);
        note(
          `e2e:   ${impl} ${peers ?? '-'} peers ${op.padEnd(16)} ${row.seconds.toFixed(2)} s  ${row.mbps} MB/s  RSS ${row.peakRssMB} MiB${row.peerRssMaxMB !== undefined ? `  peers max ${row.peerRssMaxMB} / median ${row.peerRssMedianMB} MiB` : ''}  CPU ${row.cpuSeconds} s`
        );
      };
      if (restic) {
        note(`e2e: ${ds.name}: restic (local repository)`);
        const m = await runRestic(scope, restic, gnuTime, ds, `restic-${rows.length}`);
        for (const op of OPS) push('restic', null, op, m[op]);
      }
      for (const peers of peerCounts) {
        note(`e2e: ${ds.name}: p2pbackup, ${peers} storage peers + client (${mode})`);
        const t0 = performance.now();
        const swarm = mode === 'netns' ? await startNetns(peers) : await startLoopback(scope, `swarm-${peers}-${rows.length}`, peers);
        note(`e2e:   swarm up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        try {
          const bg = maxSettle > 0 ? await settle(swarm.pids, maxSettle) : undefined;
          const m = await runOurs(scope, swarm, ds, rssFlags);
          for (const op of OPS) push('p2pbackup', peers, op, m[op], bg);
        } catch (err) {
          // One configuration failing (e.g. 50 daemons overloading 2 cores) is a result too: record it, go on.
          const error = String((err as Error)?.message ?? err);
          failures.push({ dataset: ds.name, peers, error });
          note(`e2e:   FAILED: ${error}`);
        } finally {
          await swarm.stop();
        }
      }
      if (ds.sha256 !== undefined) await rm(ds.path, { recursive: true, force: true });
    }
  } finally {
    await scope.close();
  }

  await mkdir(RESULTS, { recursive: true });
  const setup = {
    started,
    mode,
    tree,
    fileSize,
    peers: peerCounts,
    restic: 'version' in found ? found.version : null,
    cumulativeRss: rssFlags.cumulativeRss,
    maxSettleSeconds: maxSettle,
    quick: flags.quick
  };
  await writeFile(join(RESULTS, 'e2e.json'), JSON.stringify({ setup, rows, failures }, null, 2) + '\n');
  await writeFile(join(RESULTS, 'e2e.svg'), chart(rows));
  note(`e2e: wrote ${join(RESULTS, 'e2e.json')} and e2e.svg`);

  if (flags.json) {
    printJson(rows);
    return;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  out(
    `End to end: p2pbackup (${mode === 'netns' ? 'each peer and the client in its own network namespace, one bridge' : 'loopback'}, 3-of-5, happy 4; wall time = the CLI command)`
  );
  out(
    `vs ${'version' in found ? found.version : 'restic (unavailable)'} (local repository, once per dataset). One sample each. MB/s = dataset MB (1e6) / wall s.`
  );
  out(
    `RSS MiB: client daemon (ours) / restic process; peers: storage peers' peak during the op, max and median${rssFlags.cumulativeRss ? ' (CUMULATIVE: clear_refs refused)' : ''}. CPU s: client + all peers.`
  );
  out(
    `settled s: how long the swarm settled before its first op (at most ${maxSettle} s); bg CPU %: the swarm's background CPU in the last window of that, % of one core, all processes.`
  );
  const f = (x: number | undefined, d = 1) => (x === undefined ? '-' : x.toFixed(d));
  out(
    formatTable(
      ['dataset', 'op', 'impl', 'peers', 'seconds', 'MB/s', 'RSS', 'peer max', 'peer med', 'CPU s', 'files', 'settled s', 'bg CPU %'],
      rows.map((r) => [
        r.dataset,
        r.op,
        r.impl,
        r.peers ?? '-',
        f(r.seconds, 2),
        f(r.mbps, 2),
        r.peakRssMB,
        r.peerRssMaxMB ?? '-',
        r.peerRssMedianMB ?? '-',
        f(r.cpuSeconds),
        r.files,
        r.settleSeconds ?? '-',
        f(r.bgCpuPct)
      ])
    )
  );
  for (const x of failures) out(`FAILED: ${x.dataset}, ${x.peers} peers: ${x.error}`);
}
