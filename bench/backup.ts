// `node bench/index.ts backup [--json] [--quick] [--tree PATH] [--tree2 PATH] [--file-size 1GiB] [--samples N] [--only tree|file] [--fresh-only] [--restic PATH] [--restore-to DIR]`:
// backup (first), backup again with nothing changed, and restore of the latest snapshot, for a real tree
// (default /usr/share) and for one random file (default 1 GiB), by p2pbackup into a local swarm (5 storage
// peers + the client daemon, one process each, loopback, 3-of-5, happy 4) and by restic (the Debian package)
// into a local repository, side by side in the same run.
//
// Fairness, and what is measured:
// - Every sample of every dataset starts from nothing on both sides: a fresh swarm (new homes, empty backup
//   cache, no shares) and a fresh restic repository and cache dir. So "backup" is always a first backup and
//   "backup-unchanged" is the second one, with the first as its parent (our backup cache / restic's parent
//   snapshot), and "restore" restores the latest snapshot into a new empty dir.
// - Then two rows on the swarm / repository that now holds data, as people run it (skipped with --fresh-only):
//   "restore-again" restores the same snapshot once more into another new dir (after the first restore), and
//   "backup-held" backs up a second dataset into the same swarm / repository: for the tree, --tree2 (default
//   /usr/include; --quick /usr/share/i18n), for the file, a second random file of the same size (nothing in
//   common with the first). Its files / MB columns are the second dataset's.
// - --restore-to DIR: both tools restore into new dirs under DIR instead of beside their repository (e.g. a tmpfs:
//   `mount -t tmpfs -o size=8g tmpfs /mnt/rt`). On this machine's ext4 disk, file creation slows with every tree
//   restored and deleted before (the inode allocator's recently_deleted checks): restic's /usr/share restore took
//   10.6, 12.1, 15.0 and 17.4 s in four runs of one afternoon, and our client's kernel time 3-4 s into a tmpfs
//   against 15-18 s on that disk. A tmpfs keeps the restore rows comparable from run to run.
// - Page cache: before the first sample the bench reads every file of the dataset once (that walk also gives
//   the expected file count and bytes), so both tools read their input from the page cache; in addition the
//   order alternates per sample (sample 1: restic first, sample 2: p2pbackup first, ...). Restores are not
//   fsynced by either tool; nothing here drops caches. Before every measured op the bench runs sync(1), not
//   timed: no op pays for the writeback of the one before (a restore leaves the dataset's bytes dirty, and the
//   next op's fsyncs, of our storage peers or restic's pack files, waited behind them: /usr/share backups took
//   19-27 s depending on what ran before).
// - Wall time: ours from the API request (POST /api/backup, POST /api/restore) to its { result } line, the
//   daemons being already up (that is how the product runs); restic's is the whole command (process start,
//   repository open with its scrypt key derivation, the work), as its users run it. MB/s = dataset bytes
//   (MB = 1e6) / wall time, for all three ops (so backup-unchanged MB/s is "dataset covered per second").
// - Peak RSS (MiB): ours is the client daemon's VmHWM during the op (reset before each op by writing 5 to
//   /proc/PID/clear_refs; if that is refused, VmHWM is cumulative since the daemon started and the table says
//   so), and separately the highest storage peer's; restic's is `/usr/bin/time -v`'s "Maximum resident set
//   size" (or, without GNU time, VmHWM of /proc/PID/status polled every 20 ms until exit).
// - CPU s: user+system seconds: ours summed over the client and the 5 peers during the op (client CPU: the client
//   process alone; the floor's likewise), restic's own.
// - Verification (not timed): backup stats must cover every regular file of the dataset with nothing skipped;
//   the unchanged backup must find every file unchanged; each restore must give the same regular-file count
//   and total bytes (and for the single file the same sha256).
// - Without restic on the PATH (or --restic PATH), our side still runs and restic's rows say "unavailable".
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { access, lstat, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { ApiClient } from '../src/api/client.ts';
import { homePaths } from '../src/peer/home.ts';
import { parseSize } from '../src/store/index.ts';
import { formatBytes, formatTable, median, note, parseFlags, printJson } from './common.ts';
import { arg, generate, openScope, usage, type BenchScope } from './transfer.ts';
import { measureTransportFloor, STREAMS_PER_PEER } from './floor-transport.ts';
import { measureWorkFloor } from './floor-work.ts';

const PEERS = 5;
/** The cores the swarm and restic share (the cpu floor row divides by them). */
const CORES = availableParallelism();
const isFloor = (impl: Impl) => impl === 'floor' || impl === 'cpu floor';
const K = 3;
const READ_BUF = 1 << 20;
const POLL_MS = 20;
const PROGRESS_MS = 30_000;
const RESTIC_PASSWORD = 'p2pbackup-bench'; // a throwaway repository in a temp dir
export const INSTALL_HINT = 'install it with `apt-get install -y restic` (Debian package) to compare';

export type Op = 'backup' | 'backup-unchanged' | 'restore';
/** Ops on a swarm / repository that already holds the dataset (after the three above). */
export type HeldOp = 'restore-again' | 'backup-held';
export const HELD_OPS: readonly HeldOp[] = ['restore-again', 'backup-held'];
type Results = Record<Op, Measure> & Partial<Record<HeldOp, Measure>>;
/** 'floor': the transport alone moving the same bytes between the same processes (bench/floor-transport.ts).
 *  'cpu floor': that transport's CPU plus the local work's (bench/floor-work.ts) over the machine's cores. */
export type Impl = 'p2pbackup' | 'restic' | 'floor' | 'cpu floor';
export const OPS: readonly Op[] = ['backup', 'backup-unchanged', 'restore'];

export interface BackupRow {
  dataset: string;
  op: Op | HeldOp;
  impl: Impl;
  /** Median wall time over the samples; null when the implementation is unavailable. */
  seconds: number | null;
  /** Dataset bytes (MB = 1e6) / median wall time. */
  mbps: number | null;
  /** Highest over the samples, MiB: ours = the client daemon's, restic = the restic process's. */
  peakRssMB: number | null;
  /** Regular files the op covered (backup: in the snapshot; restore: restored, verified). */
  files: number | null;
  /** Bytes of those files. */
  bytes: number | null;
  /** p2pbackup only: the highest storage peer's peak RSS, MiB. */
  peerPeakRssMB?: number | null;
  /** Median user+system CPU seconds (ours: client + peers). */
  cpuSeconds?: number | null;
  /** p2pbackup and floor: the client process's share of cpuSeconds (median); the rest is the storage peers'. */
  clientCpuSeconds?: number | null;
  /** p2pbackup only: wall time ours / restic's (< 1: faster than restic). */
  vsRestic?: number | null;
  sampleSeconds: number[];
  unavailable?: string;
}

export interface Dataset {
  name: string;
  /** The directory both tools back up. */
  path: string;
  files: number;
  bytes: number;
  /** Single-file dataset: the file's sha256 (hex). */
  sha256?: string;
  /** The second dataset backed up into the swarm that holds this one (row backup-held), made when needed. */
  second?: () => Promise<Dataset>;
}

export interface Measure {
  seconds: number;
  peakRssMB: number;
  peerPeakRssMB?: number;
  cpuSeconds: number;
  /** Ours and the floor: the client process's CPU seconds (the rest of cpuSeconds is the peers'). */
  clientCpuSeconds?: number;
  files: number;
  bytes: number;
}

/** Regular files, their total bytes and the sha256 of the last one (for the single-file dataset);
 *  `read` reads every file through (warms the page cache). Symlinks are counted, never followed. */
export async function walk(root: string, read: boolean, hash = false): Promise<{ files: number; bytes: number; symlinks: number; sha256?: string }> {
  const out = { files: 0, bytes: 0, symlinks: 0, sha256: undefined as string | undefined };
  const buf = Buffer.allocUnsafe(READ_BUF);
  const visit = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isSymbolicLink()) out.symlinks++;
      else if (e.isFile()) {
        out.files++;
        out.bytes += (await lstat(p)).size;
        if (!read && !hash) continue;
        const h = hash ? createHash('sha256') : null;
        const fh = await open(p, fsc.O_RDONLY | fsc.O_NOFOLLOW);
        try {
          for (;;) {
            const { bytesRead } = await fh.read(buf, 0, buf.length, null);
            if (bytesRead === 0) break;
            h?.update(buf.subarray(0, bytesRead));
          }
        } finally {
          await fh.close();
        }
        if (h) out.sha256 = h.digest('hex');
      }
    }
  };
  await visit(root);
  return out;
}

// ---- p2pbackup side ------------------------------------------------------------------------------

/** The two datasets, made when their turn comes: a real tree (walked), and one random file in scope.dir. With
 *  `second`, each can make its second dataset (row backup-held): `second.tree` walked (if any), another random file. */
export function datasetMakers(
  scope: BenchScope,
  bench: string,
  tree: string,
  fileSize: number,
  only = 'all',
  second: { tree: string | null } | null = null
): (() => Promise<Dataset>)[] {
  const out: (() => Promise<Dataset>)[] = [];
  const walked = async (path: string): Promise<Dataset> => ({ name: path, path, ...(await walk(path, false)) });
  const random = async (sub: string): Promise<Dataset> => {
    const dir = join(scope.dir, sub);
    await mkdir(dir);
    note(`${bench}: generating ${formatBytes(fileSize)} of random bytes`);
    const sha256 = await generate(join(dir, 'random.bin'), fileSize);
    return { name: `random ${formatBytes(fileSize)}`, path: dir, files: 1, bytes: fileSize, sha256 };
  };
  const tree2 = second?.tree;
  if (only !== 'file') out.push(async () => ({ ...(await walked(tree)), ...(tree2 ? { second: () => walked(tree2) } : {}) }));
  if (only !== 'tree') out.push(async () => ({ ...(await random('file-data')), ...(second ? { second: () => random('file-data-2') } : {}) }));
  return out;
}

/** POST an NDJSON operation through the API client; resolves with its result. */
async function operation(api: ApiClient, path: string, json: unknown, signal: AbortSignal): Promise<any> {
  // Every PROGRESS_MS: files and bytes done so far (a partial rate when a long run is stopped).
  const t0 = performance.now();
  let files = 0;
  let bytes = 0;
  let next = t0 + PROGRESS_MS;
  return api.operation('POST', path, json, {
    signal,
    onEvent: (e) => {
      if (e?.type !== 'backup:backup:file' && e?.type !== 'backup:restore:file') return;
      files++;
      bytes += e.size ?? 0;
      const now = performance.now();
      if (now >= next) {
        const s = (now - t0) / 1000;
        note(
          `backup:     ${path}: ${files} files, ${(bytes / 1e6).toFixed(1)} MB in ${s.toFixed(0)} s (${(files / s).toFixed(1)} files/s, ${(bytes / 1e6 / s).toFixed(2)} MB/s)`
        );
        next = now + PROGRESS_MS;
      }
    }
  });
}

/** Write back every dirty page (sync(1)) so that the op about to be measured does not wait for the last one's. */
export function settleDisk(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

/** Reset VmHWM to the current RSS (Linux >= 4.0, root or same user); false if refused. */
export async function resetPeak(pid: number): Promise<boolean> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Run one op of ours and measure it: wall time, the client's peak RSS (pids[0]) and every storage peer's
 *  (pids[1..], VmHWM reset before the op), CPU seconds summed over all of them and the client's alone. */
export async function measureOp<T>(
  pids: number[],
  fn: () => Promise<T>,
  flagsOut: { cumulativeRss: boolean }
): Promise<{ r: T; m: Omit<Measure, 'files' | 'bytes'> & { peerRssMB: number[] } }> {
  settleDisk();
  for (const pid of pids) if (!(await resetPeak(pid))) flagsOut.cumulativeRss = true;
  const cpu0 = await Promise.all(pids.map((p) => usage(p)));
  const t0 = performance.now();
  const r = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const after = await Promise.all(pids.map((p) => usage(p)));
  const cpuSeconds = after.reduce((s, u, i) => s + u.cpuSeconds - cpu0[i].cpuSeconds, 0);
  const peerRssMB = after.slice(1).map((u) => u.peakRssMB);
  const clientCpuSeconds = after[0].cpuSeconds - cpu0[0].cpuSeconds;
  return { r, m: { seconds, peakRssMB: after[0].peakRssMB, peerPeakRssMB: Math.max(...peerRssMB), peerRssMB, cpuSeconds, clientCpuSeconds } };
}

/** --restore-to: where restores go (null: beside each tool's repository, under the bench's own dir). */
let restoreRoot: string | null = null;
/** A new dir to restore into, named after the run (`sub`) and the op. */
const restoreTarget = (beside: string, sub: string, name: string) => (restoreRoot ? join(restoreRoot, `${sub}-${name}`) : join(beside, name));

async function runOurs(scope: BenchScope, ds: Dataset, sub: string, flagsOut: { cumulativeRss: boolean }, held: Held | null): Promise<Results> {
  const swarm = await scope.startSwarm(sub, PEERS);
  const home = join(scope.dir, sub);
  try {
    const { info } = swarm;
    const api = await ApiClient.at(info.client.apiUrl, homePaths(home));
    const pids = [info.client.pid, ...info.peers.map((p) => p.pid)];
    const measure = (fn: () => Promise<any>) => measureOp(pids, fn, flagsOut);
    const backupOnce = (path = ds.path) => operation(api, '/api/backup', { path }, scope.signal);
    const checkBackup = (op: Op | HeldOp, folder: any, d = ds): Measure['files'] => {
      const st = folder.lastStats;
      if (!st) throw new Error(`p2pbackup ${op} of ${ds.name}: no stats in the result`);
      if (st.skipped?.length)
        throw new Error(`p2pbackup ${op} of ${ds.name} skipped ${st.skipped.length} item(s), e.g. ${st.skipped[0].path}: ${st.skipped[0].error}`);
      if (st.files !== d.files || st.bytesTotal !== d.bytes)
        throw new Error(`p2pbackup ${op} of ${d.name}: ${st.files} files / ${st.bytesTotal} bytes, the dataset has ${d.files} / ${d.bytes}`);
      if (op === 'backup-unchanged' && st.unchanged !== st.files)
        note(`backup: warning: p2pbackup ${op}: only ${st.unchanged} of ${st.files} files found unchanged`);
      return st.files;
    };
    const res = {} as Results;
    const b1 = await measure(() => backupOnce());
    res.backup = { ...b1.m, files: checkBackup('backup', b1.r), bytes: b1.r.lastStats.bytesTotal };
    const b2 = await measure(() => backupOnce());
    res['backup-unchanged'] = { ...b2.m, files: checkBackup('backup-unchanged', b2.r), bytes: b2.r.lastStats.bytesTotal };
    const restoreInto = async (op: 'restore' | 'restore-again', target: string) => {
      const rs = await measure(() => operation(api, '/api/restore', { cap: b2.r.rootCap, target, overwrite: 'always' }, scope.signal));
      if (rs.r.stats?.failed?.length)
        throw new Error(`p2pbackup ${op} of ${ds.name}: ${rs.r.stats.failed.length} failed, e.g. ${rs.r.stats.failed[0].path}: ${rs.r.stats.failed[0].error}`);
      res[op] = { ...rs.m, ...(await verifyRestore('p2pbackup', ds, target)) };
      await scope.discard(target); // kept until the bench ends (README: a mass delete slows the next file creation)
    };
    await restoreInto('restore', restoreTarget(home, sub, 'restored'));
    if (held) {
      await restoreInto('restore-again', restoreTarget(home, sub, 'restored-again'));
      if (held.second) {
        const b3 = await measure(() => backupOnce(held.second!.path));
        res['backup-held'] = { ...b3.m, files: checkBackup('backup-held', b3.r, held.second), bytes: b3.r.lastStats.bytesTotal };
      }
    }
    return res;
  } catch (err) {
    // The client daemon's last words, before its home is discarded.
    const tail = (await readFile(homePaths(home).log, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
    note(`backup: p2pbackup failed on ${ds.name}; the client daemon's log ends:\n${tail}`);
    throw err;
  } finally {
    await swarm.stop();
    await scope.discard(home);
  }
}

/** The rows on a swarm / repository that holds data: restore-again always, backup-held when there is a second dataset. */
export interface Held {
  second?: Dataset;
}

export async function verifyRestore(impl: Impl, ds: Dataset, target: string): Promise<{ files: number; bytes: number }> {
  const got = await walk(target, false, ds.sha256 !== undefined);
  if (got.files !== ds.files || got.bytes !== ds.bytes)
    throw new Error(`${impl} restore of ${ds.name}: ${got.files} files / ${got.bytes} bytes restored, the dataset has ${ds.files} / ${ds.bytes}`);
  if (ds.sha256 !== undefined && got.sha256 !== ds.sha256) throw new Error(`${impl} restore of ${ds.name}: sha256 ${got.sha256} != ${ds.sha256}`);
  return { files: got.files, bytes: got.bytes };
}

// ---- restic side --------------------------------------------------------------------------------

interface ToolRun {
  stdout: string;
  seconds: number;
  peakRssMB: number;
  cpuSeconds: number;
}

/** Run restic (under GNU time -v when there is one); wall time measured here around the whole command. */
async function runTool(scope: BenchScope, restic: string, args: string[], env: NodeJS.ProcessEnv, gnuTime: boolean): Promise<ToolRun> {
  scope.signal.throwIfAborted();
  const timeOut = join(scope.dir, `time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const cmd = gnuTime ? ['/usr/bin/time', '-v', '-o', timeOut, restic, ...args] : [restic, ...args];
  const t0 = performance.now();
  const child = spawn(cmd[0], cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  scope.track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  // Without GNU time: poll the child's VmHWM and CPU ticks until it exits.
  let polled = { peakRssMB: 0, cpuSeconds: 0 };
  const poll = gnuTime
    ? null
    : setInterval(() => {
        usage(child.pid!).then(
          (u) => {
            polled = { peakRssMB: Math.max(polled.peakRssMB, u.peakRssMB), cpuSeconds: u.cpuSeconds };
          },
          () => {}
        );
      }, POLL_MS);
  const code = await new Promise<number>((res, rej) => {
    child.once('error', rej);
    child.once('close', (c, sig) => res(c ?? (sig ? 128 : 1)));
  }).finally(() => {
    if (poll) clearInterval(poll);
  });
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`restic ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`);
  if (!gnuTime) return { stdout, seconds, ...polled };
  const t = await readFile(timeOut, 'utf8');
  await rm(timeOut, { force: true });
  const num = (re: RegExp) => Number(re.exec(t)?.[1] ?? Number.NaN);
  const kb = num(/Maximum resident set size \(kbytes\):\s*(\d+)/);
  return {
    stdout,
    seconds,
    peakRssMB: Math.round(kb / 1024),
    cpuSeconds: num(/User time \(seconds\):\s*([\d.]+)/) + num(/System time \(seconds\):\s*([\d.]+)/)
  };
}

export async function runRestic(scope: BenchScope, restic: string, gnuTime: boolean, ds: Dataset, sub: string, held: Held | null = null): Promise<Results> {
  const dir = join(scope.dir, sub);
  await mkdir(dir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, RESTIC_REPOSITORY: join(dir, 'repo'), RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(dir, 'cache') };
  delete env.RESTIC_PASSWORD_FILE;
  delete env.RESTIC_PASSWORD_COMMAND;
  try {
    await runTool(scope, restic, ['init'], env, false);
    const res = {} as Results;
    const backupAs = async (op: Op | HeldOp, d: Dataset) => {
      settleDisk();
      const r = await runTool(scope, restic, ['backup', '--json', d.path], env, gnuTime);
      const summary = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .find((m) => m.message_type === 'summary');
      if (!summary) throw new Error(`restic ${op} of ${d.name}: no summary in its --json output`);
      if (summary.total_files_processed !== d.files)
        note(`backup: warning: restic ${op} of ${d.name} processed ${summary.total_files_processed} files, the dataset has ${d.files}`);
      if (op === 'backup-unchanged' && summary.files_unmodified !== summary.total_files_processed)
        note(`backup: warning: restic ${op}: only ${summary.files_unmodified} of ${summary.total_files_processed} files unmodified`);
      res[op] = {
        seconds: r.seconds,
        peakRssMB: r.peakRssMB,
        cpuSeconds: r.cpuSeconds,
        files: summary.total_files_processed,
        bytes: summary.total_bytes_processed
      };
    };
    await backupAs('backup', ds);
    await backupAs('backup-unchanged', ds);
    const restoreInto = async (op: 'restore' | 'restore-again', target: string) => {
      settleDisk();
      const r = await runTool(scope, restic, ['restore', 'latest', '--target', target], env, gnuTime);
      res[op] = { seconds: r.seconds, peakRssMB: r.peakRssMB, cpuSeconds: r.cpuSeconds, ...(await verifyRestore('restic', ds, target)) };
      await scope.discard(target); // kept until the bench ends (README: a mass delete slows the next file creation)
    };
    await restoreInto('restore', restoreTarget(dir, sub, 'restored'));
    if (held) {
      await restoreInto('restore-again', restoreTarget(dir, sub, 'restored-again'));
      // After restore-again, which restores "latest".
      if (held.second) await backupAs('backup-held', held.second);
    }
    return res;
  } finally {
    await scope.discard(dir);
  }
}

/** The restic binary to use, or why there is none. */
export function findRestic(given: string | null): { restic: string; version: string } | { unavailable: string } {
  const bin = given ?? 'restic';
  const r = spawnSync(bin, ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { unavailable: `restic not found (${given ? given : 'not on the PATH'}): ${INSTALL_HINT}` };
  return { restic: bin, version: r.stdout.trim() };
}

// ---- the run ------------------------------------------------------------------------------------

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const tree = resolve(arg(flags.rest, '--tree', flags.quick ? '/usr/share/zoneinfo' : '/usr/share'));
  const fileSize = parseSize(arg(flags.rest, '--file-size', flags.quick ? '64MiB' : '1GiB'));
  const samples = Number(arg(flags.rest, '--samples', flags.quick ? '3' : '1'));
  if (!Number.isInteger(samples) || samples < 1) throw new Error('--samples must be a whole number >= 1');
  const only = arg(flags.rest, '--only', 'all');
  if (!['all', 'tree', 'file'].includes(only)) throw new Error('--only must be tree or file');
  const resticArg = flags.rest.includes('--restic') ? arg(flags.rest, '--restic', '') : null;
  // The rows on a swarm that holds data (restore-again, backup-held) unless --fresh-only; the tree's second
  // dataset only if it is a directory here.
  const heldRows = !flags.rest.includes('--fresh-only');
  restoreRoot = flags.rest.includes('--restore-to') ? resolve(arg(flags.rest, '--restore-to', '')) : null;
  if (restoreRoot) await mkdir(restoreRoot, { recursive: true });
  let tree2: string | null = resolve(arg(flags.rest, '--tree2', flags.quick ? '/usr/share/i18n' : '/usr/include'));
  const isDir = await lstat(tree2).then(
    (st) => st.isDirectory(),
    () => false
  );
  if (!heldRows) tree2 = null;
  else if (!isDir) {
    note(`backup: --tree2 ${tree2} is not a directory: no backup-held row for the tree`);
    tree2 = null;
  }

  const found = findRestic(resticArg);
  const restic = 'restic' in found ? found.restic : null;
  if ('unavailable' in found) note(`backup: ${found.unavailable}; running the p2pbackup side only`);
  else note(`backup: comparing with ${found.version}`);
  const gnuTime = await access('/usr/bin/time', fsc.X_OK).then(
    () => true,
    () => false
  );
  if (restic && !gnuTime) note('backup: no /usr/bin/time (apt-get install -y time): restic peak RSS is polled from /proc every 20 ms');

  const scope = await openScope('backup');
  const rows: BackupRow[] = [];
  const rssFlags = { cumulativeRss: false };
  let resticInfo = '';
  try {
    const datasets = datasetMakers(scope, 'backup', tree, fileSize, only, heldRows ? { tree: tree2 } : null);
    /** Read every file of a dataset once (the page cache), checking that it is still what its walk counted. */
    const warmUp = async (ds: Dataset) => {
      const t0 = performance.now();
      const warm = await walk(ds.path, true);
      if (warm.files !== ds.files || warm.bytes !== ds.bytes) throw new Error(`${ds.path} changed while the bench walked it`);
      note(`backup:   read in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    };
    for (const make of datasets) {
      const ds = await make();
      note(`backup: dataset ${ds.name}: ${ds.files} regular files, ${(ds.bytes / 1e6).toFixed(1)} MB; reading it once to warm the page cache`);
      await warmUp(ds);
      let held: Held | null = null;
      if (heldRows) {
        held = {};
        if (ds.second) {
          const second = await ds.second();
          note(`backup: second dataset ${second.name} (row backup-held): ${second.files} regular files, ${(second.bytes / 1e6).toFixed(1)} MB; warming it`);
          await warmUp(second);
          held.second = second;
        }
      }
      const got: Record<Impl, Partial<Record<Op | HeldOp, Measure>>[]> = { p2pbackup: [], restic: [], floor: [], 'cpu floor': [] };
      for (let s = 0; s < samples; s++) {
        const order: Impl[] = s % 2 === 0 ? ['restic', 'p2pbackup'] : ['p2pbackup', 'restic'];
        for (const impl of order) {
          if (impl === 'restic' && !restic) continue;
          note(
            `backup: ${ds.name}: sample ${s + 1}/${samples}: ${impl}${impl === 'p2pbackup' ? ` (fresh swarm of ${PEERS} peers + client)` : ' (fresh local repository)'}`
          );
          const sub = `${impl}-${rows.length}-${s}`;
          const m = impl === 'p2pbackup' ? await runOurs(scope, ds, sub, rssFlags, held) : await runRestic(scope, restic!, gnuTime, ds, sub, held);
          for (const op of [...OPS, ...HELD_OPS]) {
            const x = m[op];
            if (x)
              note(
                `backup:   ${op.padEnd(16)} ${x.seconds.toFixed(2)} s  ${(x.bytes / 1e6 / x.seconds).toFixed(1)} MB/s  peak RSS ${x.peakRssMB} MiB${x.peerPeakRssMB !== undefined ? ` (peers ≤ ${x.peerPeakRssMB})` : ''}  CPU ${x.cpuSeconds.toFixed(1)} s${x.clientCpuSeconds !== undefined ? ` (client ${x.clientCpuSeconds.toFixed(1)})` : ''}`
              );
          }
          got[impl].push(m);
        }
        note(`backup: ${ds.name}: sample ${s + 1}/${samples}: transport floor (the same bytes over libp2p between ${PEERS} + 1 processes, nothing else)`);
        const fl = await measureTransportFloor(ds.bytes, PEERS, K);
        const floorOf = (p: { seconds: number; cpuSeconds: number; clientCpuSeconds: number }): Measure => ({
          seconds: p.seconds,
          cpuSeconds: p.cpuSeconds,
          clientCpuSeconds: p.clientCpuSeconds,
          peakRssMB: 0,
          files: 0,
          bytes: ds.bytes
        });
        got.floor.push({ backup: floorOf(fl.push), restore: floorOf(fl.pull) }); // nothing to move for an unchanged re-backup
        note(
          `backup:   floor push ${fl.push.seconds.toFixed(2)} s (CPU ${fl.push.cpuSeconds.toFixed(1)} s, client ${fl.push.clientCpuSeconds.toFixed(1)}), pull ${fl.pull.seconds.toFixed(2)} s (CPU ${fl.pull.cpuSeconds.toFixed(1)} s, client ${fl.pull.clientCpuSeconds.toFixed(1)})`
        );
        note(`backup: ${ds.name}: sample ${s + 1}/${samples}: work floor (the local work alone: read, id, compress, seal, erasure code; open, write)`);
        const workTo = restoreTarget(scope.dir, `work-${rows.length}-${s}`, 'work-floor');
        const wk = await measureWorkFloor(ds.path, workTo, K, PEERS).finally(() => rm(workTo, { recursive: true, force: true }));
        if (wk.files !== ds.files || wk.bytes !== ds.bytes)
          throw new Error(`work floor covered ${wk.files} files, ${wk.bytes} bytes of ${ds.files}, ${ds.bytes}`);
        const cpuFloorOf = (transport: { cpuSeconds: number; clientCpuSeconds: number }, work: { cpuSeconds: number }): Measure => ({
          seconds: (transport.cpuSeconds + work.cpuSeconds) / CORES,
          cpuSeconds: transport.cpuSeconds + work.cpuSeconds,
          clientCpuSeconds: transport.clientCpuSeconds + work.cpuSeconds,
          peakRssMB: 0,
          files: 0,
          bytes: ds.bytes
        });
        got['cpu floor'].push({ backup: cpuFloorOf(fl.push, wk.backup), restore: cpuFloorOf(fl.pull, wk.restore) });
        note(
          `backup:   work backup ${wk.backup.seconds.toFixed(2)} s (CPU ${wk.backup.cpuSeconds.toFixed(1)} s), restore ${wk.restore.seconds.toFixed(2)} s (CPU ${wk.restore.cpuSeconds.toFixed(1)} s); sealed ${(wk.sealedBytes / 1e6).toFixed(1)} MB in ${wk.packs} packs`
        );
      }
      for (const op of [...OPS, ...HELD_OPS]) {
        if (!got.p2pbackup.some((m) => m[op]) && !got.restic.some((m) => m[op])) continue;
        const rowOf = (impl: Impl): BackupRow => {
          const ms = got[impl].map((m) => m[op]).filter((m) => m !== undefined);
          if (!ms.length)
            return {
              dataset: ds.name,
              op,
              impl,
              seconds: null,
              mbps: null,
              peakRssMB: null,
              files: null,
              bytes: null,
              cpuSeconds: null,
              sampleSeconds: [],
              unavailable: 'unavailable' in found ? found.unavailable : 'not run'
            };
          const seconds = median(ms.map((m) => m.seconds));
          const last = ms[ms.length - 1];
          return {
            dataset: ds.name,
            op,
            impl,
            seconds: +seconds.toFixed(3),
            mbps: +(last.bytes / 1e6 / seconds).toFixed(1),
            peakRssMB: isFloor(impl) ? null : Math.max(...ms.map((m) => m.peakRssMB)),
            files: isFloor(impl) ? null : last.files,
            bytes: last.bytes,
            ...(impl === 'p2pbackup' ? { peerPeakRssMB: Math.max(...ms.map((m) => m.peerPeakRssMB ?? 0)) } : {}),
            cpuSeconds: +median(ms.map((m) => m.cpuSeconds)).toFixed(1),
            ...(impl !== 'restic' ? { clientCpuSeconds: +median(ms.map((m) => m.clientCpuSeconds ?? 0)).toFixed(1) } : {}),
            sampleSeconds: ms.map((m) => +m.seconds.toFixed(3))
          };
        };
        const ours = rowOf('p2pbackup');
        const theirs = rowOf('restic');
        ours.vsRestic = ours.seconds !== null && theirs.seconds ? +(ours.seconds / theirs.seconds).toFixed(2) : null;
        rows.push(ours, theirs);
        if (op === 'backup' || op === 'restore')
          for (const impl of ['floor', 'cpu floor'] as const) {
            const floor = rowOf(impl);
            floor.vsRestic = floor.seconds !== null && theirs.seconds ? +(floor.seconds / theirs.seconds).toFixed(2) : null;
            rows.push(floor);
          }
      }
      if (only === 'all' && ds.sha256 !== undefined) await rm(ds.path, { recursive: true, force: true });
      if (held?.second?.sha256 !== undefined) await rm(held.second.path, { recursive: true, force: true });
    }
    if (restic) resticInfo = found && 'version' in found ? found.version : '';
  } finally {
    await scope.close();
  }

  if (flags.json) {
    printJson(rows);
    return;
  }
  const out = (s: string) => process.stdout.write(s + '\n');
  const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '-' : x.toFixed(d));
  out(`Backup, unchanged re-backup and restore: p2pbackup (local swarm: ${PEERS} storage peers + client daemon, one process each,`);
  out(`loopback, 3-of-5, happy 4) vs ${resticInfo || 'restic (unavailable)'} (local repository, default options).`);
  out(
    `Median of ${samples} sample(s)${samples === 1 ? ' (one sample: the big tree is slow; numbers on shared cores are noisy)' : ''}; each sample starts from an empty swarm / repository;`
  );
  out('inputs read from the page cache by both (warmed once, order alternated per sample). MB/s = dataset MB (1e6) / wall s.');
  out(
    `Peak RSS MiB: ours = client daemon during the op${rssFlags.cumulativeRss ? ' (CUMULATIVE since daemon start: clear_refs was refused)' : ''}, peers = highest storage peer; restic = its process.`
  );
  out(
    "CPU s = user+sys (ours: client + 5 peers; client CPU = the client process alone, the rest is the peers'). ours/restic = wall time ratio (target: <= 1)."
  );
  out(
    restoreRoot
      ? `Restores (both tools) into new dirs under ${restoreRoot} (--restore-to).`
      : 'Restores (both tools) into new dirs beside their repository (bench dir).'
  );
  if (heldRows)
    out(
      `On the swarm / repository that then holds the dataset: restore-again = the same snapshot restored once more (into a new dir); backup-held = a second dataset (${tree2 ?? 'none for the tree'}; a second random file for the file) backed up into it: its files and MB are the second dataset's.`
    );
  out(`floor = the transport alone (bench/floor-transport.ts): the dataset's share bytes (${PEERS}/${K} of it) pushed from a client process to`);
  out(
    `${PEERS} peer processes, and the dataset's bytes pulled from ${K} of them, over libp2p (TCP + Noise + Yamux, loopback, ${STREAMS_PER_PEER} streams per peer);`
  );
  out('receivers drop the bytes: no files, no disk, no encryption of ours, no erasure coding, no hashing. No backup or restore of those bytes');
  out('through this swarm can beat it on this machine; its CPU s shows how much of the cores the transport alone takes.');
  out(`cpu floor = (the floor's CPU s + the work floor's) / ${CORES} cores (bench/floor-work.ts: every file read, cut in 1 MiB pieces, each piece's id,`);
  out('zstd and seal, 16 MiB packs erasure coded; restore: each piece opened and written to its file; one process, no chunker, index or');
  out('metadata). Client and peers share these cores, so no backup or restore through this swarm that does that work can beat it here.');
  out(
    formatTable(
      ['dataset', 'op', 'impl', 'seconds', 'MB/s', 'peak RSS', 'peers RSS', 'CPU s', 'client CPU', 'files', 'MB', 'ours/restic'],
      rows.map((r) => [
        r.dataset,
        r.op,
        r.impl,
        r.unavailable ? 'unavailable' : f(r.seconds, 2),
        f(r.mbps),
        r.peakRssMB ?? '-',
        r.peerPeakRssMB ?? '-',
        f(r.cpuSeconds),
        f(r.clientCpuSeconds),
        r.files ?? '-',
        r.bytes === null ? '-' : (r.bytes / 1e6).toFixed(1),
        r.impl !== 'restic' ? f(r.vsRestic, 2) : ''
      ])
    )
  );
  const missing = rows.find((r) => r.unavailable && r.impl === 'restic');
  if (missing) out(`\nrestic rows: ${missing.unavailable}`);
}
