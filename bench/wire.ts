// `node bench/index.ts wire [--json] [--quick] [--file-size 1GiB] [--copy-size 100MiB] [--tree /usr/include]`:
// the bytes a backup puts on the wire (issue 16), p2pbackup side by side with restic in the same run, for:
//   include  first backup of a compressible tree (/usr/include: real C headers)
//   edit     a random file backed up, then 4 KiB overwritten in its middle and backed up again (second backup)
//   insert   the same original file with 1 MiB inserted at its front, backed up after the two above
//   copies   a tree holding three copies of one random file in different folders, first backup
// p2pbackup: a local swarm (5 storage peers + client daemon, loopback, 3-of-5, happy 4); "stored" = the bytes its
// share files grew by on the storage peers (what went over the wire to them: n/k times each pack), "logical" =
// stored / (n/k) (what one copy costs, comparable with a repository that keeps one copy). restic 0.14 (Debian,
// repository v2, default compression "auto"): the growth of its local repository directory. Bytes do not depend
// on the machine; seconds do (both tools run on the same cores; ours includes the transfer to 5 processes).
// Goals: include <= 1.10x restic, edit and insert <= 4x restic, copies stored once (logical <= 1.1 x one copy).
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { copyFile, lstat, mkdir, open, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiClient } from '../src/api/client.ts';
import { homePaths } from '../src/peer/home.ts';
import { parseSize } from '../src/store/index.ts';
import { formatTable, note, parseFlags, printJson } from './common.ts';
import { arg, openScope, type BenchScope } from './transfer.ts';

const PEERS = 5,
  K = 3,
  N = 5;
const RESTIC_PASSWORD = 'p2pbackup-bench';

interface Row {
  workload: string;
  what: string;
  /** Bytes the backup added on the storage peers (share files), and that over n/k. */
  storedBytes: number;
  logicalBytes: number;
  seconds: number;
  resticBytes: number | null;
  resticSeconds: number | null;
  /** logical / restic growth. */
  ratio: number | null;
  goal: string;
  pass: boolean | null;
}

/** Bytes of every file under `dir` (0 when it does not exist). */
async function du(dir: string): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = join(dir, n);
    const st = await lstat(p);
    total += st.isDirectory() ? await du(p) : st.size;
  }
  return total;
}

async function randomFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let o = 0; o < size; o += buf.length) {
    randomFillSync(buf);
    const n = Math.min(buf.length, size - o);
    await fh.write(buf, 0, n, o);
  }
  await fh.close();
}

class Restic {
  readonly env: NodeJS.ProcessEnv;
  readonly repo: string;
  constructor(dir: string) {
    this.repo = join(dir, 'restic-repo');
    this.env = { ...process.env, RESTIC_REPOSITORY: this.repo, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(dir, 'restic-cache') };
    delete this.env.RESTIC_PASSWORD_FILE;
    delete this.env.RESTIC_PASSWORD_COMMAND;
  }
  static available(): boolean {
    return spawnSync('restic', ['version']).status === 0;
  }
  run(args: string[]): number {
    const t0 = performance.now();
    const r = spawnSync('restic', ['-q', ...args], { env: this.env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  }
  init(): void {
    this.run(['init']);
  }
  /** Growth of the repository directory and seconds of one `restic backup`. */
  async backup(path: string): Promise<{ bytes: number; seconds: number }> {
    const before = await du(this.repo);
    const seconds = this.run(['backup', path]);
    return { bytes: (await du(this.repo)) - before, seconds };
  }
}

class Ours {
  readonly api: ApiClient;
  readonly peerHomes: string[];
  readonly signal: AbortSignal;
  private constructor(api: ApiClient, peerHomes: string[], signal: AbortSignal) {
    this.api = api;
    this.peerHomes = peerHomes;
    this.signal = signal;
  }
  static async start(scope: BenchScope, sub: string): Promise<Ours> {
    const swarm = await scope.startSwarm(sub, PEERS);
    const api = await ApiClient.at(swarm.info.client.apiUrl, homePaths(join(scope.dir, sub)));
    return new Ours(
      api,
      swarm.info.peers.map((p) => p.home),
      scope.signal
    );
  }
  private async onPeers(): Promise<number> {
    let total = 0;
    for (const h of this.peerHomes) total += await du(join(homePaths(h).store, 'shares'));
    return total;
  }
  async backup(path: string): Promise<{ bytes: number; seconds: number; stats: any }> {
    const before = await this.onPeers();
    const t0 = performance.now();
    const folder = await this.api.operation('POST', '/api/backup', { path }, { signal: this.signal });
    const seconds = (performance.now() - t0) / 1000;
    if (folder.lastStats?.skipped?.length) throw new Error(`p2pbackup skipped ${folder.lastStats.skipped.length} item(s) of ${path}`);
    return { bytes: (await this.onPeers()) - before, seconds, stats: folder.lastStats };
  }
}

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const fileSize = parseSize(arg(argv, '--file-size', flags.quick ? '256MiB' : '1GiB'));
  const copySize = parseSize(arg(argv, '--copy-size', flags.quick ? '20MiB' : '100MiB'));
  const tree = arg(argv, '--tree', '/usr/include');
  const haveRestic = Restic.available();
  if (!haveRestic) note('wire: restic is not on the PATH (apt-get install -y restic): its columns stay empty');
  const scope = await openScope('wire');
  const rows: Row[] = [];
  const row = (
    workload: string,
    what: string,
    ours: { bytes: number; seconds: number },
    restic: { bytes: number; seconds: number } | null,
    goal: string,
    limit: (logical: number, restic: number) => boolean
  ): void => {
    const logical = Math.round((ours.bytes * K) / N);
    const ratio = restic && restic.bytes > 0 ? logical / restic.bytes : null;
    rows.push({
      workload,
      what,
      storedBytes: ours.bytes,
      logicalBytes: logical,
      seconds: ours.seconds,
      resticBytes: restic?.bytes ?? null,
      resticSeconds: restic?.seconds ?? null,
      ratio,
      goal,
      pass: restic ? limit(logical, restic.bytes) : null
    });
    note(
      `wire: ${workload}: ours ${logical} logical (${ours.bytes} on peers) in ${ours.seconds.toFixed(2)} s; restic ${restic?.bytes ?? '-'} in ${restic?.seconds.toFixed(2) ?? '-'} s`
    );
  };
  try {
    // include: a compressible tree, first backup.
    {
      const ours = await Ours.start(scope, 'include');
      const o = await ours.backup(tree);
      let r = null;
      if (haveRestic) {
        const rr = new Restic(join(scope.dir, 'include'));
        rr.init();
        r = await rr.backup(tree);
      }
      row('include', `first backup of ${tree}`, o, r, '<= 1.10x restic', (l, x) => l <= 1.1 * x);
    }
    // edit and insert: one random file.
    {
      const dir = join(scope.dir, 'file-data');
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'big.bin');
      await randomFile(file, fileSize);
      const original = join(scope.dir, 'original.bin');
      await copyFile(file, original);
      const ours = await Ours.start(scope, 'file');
      const rr = haveRestic ? new Restic(join(scope.dir, 'file')) : null;
      rr?.init();
      await ours.backup(dir);
      await rr?.backup(dir);
      const fh = await open(file, 'r+');
      const edit = Buffer.allocUnsafe(4096);
      randomFillSync(edit);
      await fh.write(edit, 0, edit.length, Math.floor(fileSize / 2));
      await fh.close();
      row(
        'edit',
        `4 KiB overwritten in the middle of ${fileSize >> 20} MiB`,
        await ours.backup(dir),
        rr ? await rr.backup(dir) : null,
        '<= 4x restic',
        (l, x) => l <= 4 * x
      );
      // The original content with 1 MiB inserted at its front.
      const out = await open(file, 'w');
      const front = Buffer.allocUnsafe(1 << 20);
      randomFillSync(front);
      await out.write(front, 0, front.length, 0);
      const src = await open(original, 'r');
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let o = 0; o < fileSize; o += buf.length) {
        const { bytesRead } = await src.read(buf, 0, buf.length, o);
        await out.write(buf, 0, bytesRead, front.length + o);
      }
      await src.close();
      await out.close();
      row(
        'insert',
        `1 MiB inserted at the front of the original`,
        await ours.backup(dir),
        rr ? await rr.backup(dir) : null,
        '<= 4x restic',
        (l, x) => l <= 4 * x
      );
      await rm(original, { force: true });
    }
    // copies: three copies of one file in different folders.
    {
      const dir = join(scope.dir, 'copies-data');
      const one = join(scope.dir, 'one.bin');
      await randomFile(one, copySize);
      for (const d of ['a', 'b/c', 'd/e/f']) {
        await mkdir(join(dir, d), { recursive: true });
        await copyFile(one, join(dir, d, 'copy.bin'));
      }
      const ours = await Ours.start(scope, 'copies');
      const o = await ours.backup(dir);
      let r = null;
      if (haveRestic) {
        const rr = new Restic(join(scope.dir, 'copies'));
        rr.init();
        r = await rr.backup(dir);
      }
      rows.push({
        workload: 'copies',
        what: `three copies of one ${copySize >> 20} MiB file`,
        storedBytes: o.bytes,
        logicalBytes: Math.round((o.bytes * K) / N),
        seconds: o.seconds,
        resticBytes: r?.bytes ?? null,
        resticSeconds: r?.seconds ?? null,
        ratio: r ? Math.round((o.bytes * K) / N) / r.bytes : null,
        goal: 'stored once (<= 1.1 x one copy)',
        pass: Math.round((o.bytes * K) / N) <= 1.1 * copySize
      });
      await writeFile(one, ''); // keep the scope's disk use down
    }
  } finally {
    await scope.close();
  }
  if (flags.json) return printJson(rows);
  const mb = (b: number | null) => (b === null ? '-' : (b / 1e6).toFixed(2));
  process.stdout.write(
    `Bytes on the wire: p2pbackup (local swarm, ${PEERS} storage peers + client, 3-of-5; stored = share bytes added on the peers,\n` +
      `logical = stored / (n/k)) vs restic 0.14 (local repository growth, repository v2, default compression). MB = 1e6 bytes.\n`
  );
  process.stdout.write(
    formatTable(
      ['workload', 'what', 'ours stored MB', 'ours logical MB', 'ours s', 'restic MB', 'restic s', 'logical/restic', 'goal', 'pass'],
      rows.map((r) => [
        r.workload,
        r.what,
        mb(r.storedBytes),
        mb(r.logicalBytes),
        r.seconds.toFixed(2),
        mb(r.resticBytes),
        r.resticSeconds?.toFixed(2) ?? '-',
        r.ratio === null ? '-' : r.ratio.toFixed(2),
        r.goal,
        r.pass === null ? '-' : r.pass ? 'pass' : 'FAIL'
      ])
    ) + '\n'
  );
}
