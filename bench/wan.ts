// `node bench/index.ts wan [--json] [--quick] [--rate 40mbit] [--tree /usr/include] [--file-size 1GiB] [--runs 3]`:
// backups over home uplinks (issue 16). The client and 5 storage peers (3-of-5, happy 4) each run in their own
// network namespace on one bridge (test/multihost/fixture.ts), and every host's uplink (the egress of its veth
// inside its namespace) is limited by a token bucket: `tc qdisc add dev eth0 root tbf rate 40mbit burst 64kbit
// latency 400ms` (this kernel has no netem: no added delay). Rows:
//   link        raw TCP, one stream, client -> a peer: what the shaped link itself gives (the shaper's own ratio)
//   include     first backup of a tree (/usr/include: compressible C headers), one run on a fresh client
//   file-first  a random file (1 GiB; --quick 256 MiB), first backup (setup for the edit row; shown, no goal)
//   edit        4 KiB overwritten in the file's middle, backed up again (median of --runs, a new edit each run)
// For each: seconds (the `p2pbackup backup` CLI command's wall time in the client's namespace, node start-up
// included; the command as installed, bin/p2pbackup.js on the build in dist/, rebuilt first when src/ is newer:
// run from the TypeScript sources its start-up alone took 0.3 s more, for the type stripping users never pay), sent = bytes the client's veth transmitted during it (its TX counter, every frame: payload,
// TCP/IP and Ethernet headers, the daemon's other traffic), bound = sent / uplink rate, and seconds / bound.
// Goal (issue 16): include and edit <= 1.15x the bound.
// Floors: after the shaped rows every qdisc is removed and the same work runs again unshaped (include on a
// second fresh client, so nothing is deduplicated; edit on the same client with a new edit). A 4 KiB edit
// sends a few MB (under a second at 5 MB/s) but still re-reads, chunks and hashes the whole file, so its floor,
// not the link, bounds the row; the table says so instead of hiding it.
// restic over SFTP (the tool a user would pick instead): sshd runs in its own namespace host (temp config, host
// key and root key; a private /run for its privilege-separation directory), restic 0.14 runs in a third
// namespace, both shaped the same, so its sent bytes are restic's alone; same tree, same file and edits.
// A failed backup is a result, not the end: its row says FAIL with the CLI's error (details and every daemon's
// warnings on stderr), the client's daemon is restarted so the next row starts from a working client, and if
// the file's first backup failed shaped it is redone unshaped (a setup row) so that the edit rows still run.
// Everything (namespaces, qdiscs, sshd, temp dirs, daemons) goes at the end or on Ctrl-C (fixture cleanup).
import { execFileSync, spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, open, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnDaemon } from '../src/peer/swarm.ts';
import { parseSize } from '../src/store/index.ts';
import { NetFixture, ip, sh, skipReason, type Host } from '../test/multihost/fixture.ts';
import { walk } from './backup.ts';
import { formatTable, installedCommand, median, note, parseFlags, printJson } from './common.ts';
import { arg, generate } from './transfer.ts';

const STORAGE_PEERS = 5;
const OP_TIMEOUT_MS = 6 * 3_600_000;
/** The tbf parameters of STACK.md: an 8 KB bucket (a few packets of burst) and up to 400 ms of queue. */
const TBF_BURST = '64kbit';
const TBF_LATENCY = '400ms';
/** The fixture names every host's veth end inside its namespace eth0. */
const UPLINK = 'eth0';
/** The overwritten span of the edit row (issue 16's workload). */
const EDIT_BYTES = 4096;
/** Raw TCP probe of the link row: 4 s at 40 Mbit/s, long enough that the bucket's burst does not matter. */
const PROBE_BYTES = 20e6;
const PROBE_PORT = 5001;
const SSH_PORT = 22;
const RESTIC_PASSWORD = 'p2pbackup-bench-wan';
/** Goal of issue 16: a backup's wall time at most this many times the bound (bytes sent / uplink rate). */
export const GOAL_RATIO = 1.15;

export interface WanRow {
  workload: 'link' | 'include' | 'file-first' | 'edit';
  impl: 'tcp' | 'p2pbackup' | 'restic-sftp';
  /** The tbf rate of every uplink, or 'unshaped' (a floor row). */
  link: string;
  what: string;
  runs: number;
  /** Medians over the runs (null in a note row). */
  seconds: number | null;
  sentBytes: number | null;
  /** sentBytes / uplink rate (null when unshaped). */
  boundSeconds: number | null;
  ratio: number | null;
  /** The same work's unshaped seconds (goal and restic rows). */
  floorSeconds: number | null;
  goal: string | null;
  pass: boolean | null;
  /** Why a row failed, or why it is missing. */
  note: string | null;
  /** Runs that failed (their errors are in `note`); seconds and sentBytes are over the others. */
  failedRuns: number;
  samples: { seconds: number; sentBytes: number }[];
}

/** A tc rate ("40mbit", "500kbit", "1gbit", "100bit"; SI units as tc reads them) in bits per second. */
export function parseRate(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/i.exec(s.trim());
  if (!m) throw new Error(`--rate: a tc rate such as 40mbit (bit, kbit, mbit or gbit), not "${s}"`);
  const bits = Number(m[1]) * { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2].toLowerCase() as 'bit']!;
  if (!(bits >= 8e3)) throw new Error(`--rate ${s}: below 8kbit no backup finishes in a bench's time`);
  return bits;
}

/** The result cell of a goal row: pass, or FAIL with what bounds it (the link, or the local work that the
 *  unshaped floor measures), and whether it took longer than that floor allows. */
export function verdict(r: Pick<WanRow, 'ratio' | 'seconds' | 'boundSeconds' | 'floorSeconds'>): { pass: boolean; note: string | null } {
  if (r.ratio === null || r.seconds === null || r.boundSeconds === null) return { pass: false, note: 'not measured' };
  if (r.ratio <= GOAL_RATIO) return { pass: true, note: null };
  if (r.floorSeconds === null) return { pass: false, note: 'no floor measured' };
  const both = `unshaped ${r.floorSeconds.toFixed(2)} s, bound ${r.boundSeconds.toFixed(2)} s`;
  if (r.floorSeconds <= r.boundSeconds) return { pass: false, note: `the link bounds it (${both})` };
  const what = `local work bounds it, not the link (${both})`;
  const over = r.seconds / r.floorSeconds;
  return { pass: false, note: over > GOAL_RATIO ? `${what}; yet it took ${over.toFixed(2)}x the unshaped time` : what };
}

/** Seconds over the larger of the two bounds (the link's and the local work's): 1.00x = as fast as either allows. */
export function overBounds(r: Pick<WanRow, 'seconds' | 'boundSeconds' | 'floorSeconds'>): number | null {
  if (r.seconds === null || r.boundSeconds === null || r.floorSeconds === null) return null;
  return r.seconds / Math.max(r.boundSeconds, r.floorSeconds);
}

/** The TX byte counter of a host's uplink (every frame it sent, headers included). */
function txBytes(host: Host): number {
  const [link] = JSON.parse(ip('-n', host.ns, '-s', '-j', 'link', 'show', 'dev', UPLINK)) as { stats64: { tx: { bytes: number } } }[];
  return Number(link.stats64.tx.bytes);
}

function shape(host: Host, rate: string): void {
  sh('tc', ['-n', host.ns, 'qdisc', 'replace', 'dev', UPLINK, 'root', 'tbf', 'rate', rate, 'burst', TBF_BURST, 'latency', TBF_LATENCY]);
}

function unshape(host: Host): void {
  sh('tc', ['-n', host.ns, 'qdisc', 'del', 'dev', UPLINK, 'root']);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Run a command inside a namespace to its end; the fixture kills it on cleanup / Ctrl-C. */
function runIn(net: NetFixture, host: Host, cmd: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = OP_TIMEOUT_MS): Promise<Run> {
  const t0 = performance.now();
  return new Promise((res) => {
    const child = spawn('ip', ['netns', 'exec', host.ns, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'], env });
    net.children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-8000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code: code ?? 1, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

/** Seconds and bytes sent of one measured step on `host`. */
async function measured(host: Host, step: () => Promise<number | void>): Promise<Sample> {
  const b0 = txBytes(host);
  const t0 = performance.now();
  const inner = await step();
  const seconds = typeof inner === 'number' ? inner : (performance.now() - t0) / 1000;
  return { seconds, sentBytes: txBytes(host) - b0 };
}

/** `p2pbackup --json backup DIR` on the client; throws when it fails or skips anything (a short message: the
 *  CLI's error code and text; its output and every daemon's last warnings go to stderr). */
async function oursBackup(net: NetFixture, client: Host, path: string): Promise<Sample> {
  const started = Date.now();
  return measured(client, async () => {
    const r = await net.cli(client, ['--json', 'backup', path], OP_TIMEOUT_MS);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return null;
        }
      });
    const summary = lines.find((l) => l?.type === 'summary');
    if (r.code !== 0 || !summary) {
      const said = [...r.stdout.trim().split('\n').slice(-2), ...r.stderr.trim().split('\n').slice(-3)].filter(Boolean).join(' | ').slice(-1500);
      let warnings = '';
      for (const h of net.hosts.filter((x) => x.member)) {
        const since = (await net.logWarnings(h, 1000))
          .filter((l) => {
            try {
              return JSON.parse(l).time >= started;
            } catch {
              return false;
            }
          })
          .slice(-4);
        if (since.length) warnings += `\n  ${h.name}'s daemon warnings during it:\n${since.map((l) => `    ${l.slice(0, 600)}`).join('\n')}`;
      }
      note(`wan: p2pbackup backup ${path} exited ${r.code} after ${(r.ms / 1000).toFixed(1)} s: ${said}${warnings}`);
      const e = lines.find((l) => l?.error)?.error;
      throw new Error(e ? `${e.code}: ${String(e.message).slice(0, 240)}` : `exit ${r.code}: ${said.slice(-240)}`);
    }
    if (summary.stats?.skipped?.length) throw new Error(`skipped ${summary.stats.skipped.length} item(s), e.g. ${summary.stats.skipped[0].path}`);
  });
}

type Sample = { seconds: number; sentBytes: number };
type Outcome = { sample: Sample } | { error: string };

/** One measured step whose failure is a result (a row that says so), not the end of the bench. */
async function attempt(what: string, step: () => Promise<Sample>): Promise<Outcome> {
  try {
    return { sample: await step() };
  } catch (err) {
    const error = String((err as Error)?.message ?? err);
    note(`wan: ${what} FAILED: ${error}`);
    return { error };
  }
}

/**
 * Stop a host's daemon and start it again on the same home, bootstrapping to `peers`, then wait until it sees
 * them all. After a failed backup (a client that lost its connections) the next row then starts from a client
 * that works, and says so, instead of failing for the same reason again.
 */
async function restartDaemon(net: NetFixture, host: Host, peers: Host[]): Promise<void> {
  const old = host.child!;
  if (old.exitCode === null && old.signalCode === null) {
    const exited = new Promise<void>((res) => old.once('exit', () => res()));
    old.kill('SIGTERM');
    const kill = setTimeout(() => old.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(kill);
  }
  const { child, member } = await spawnDaemon(host.home, ['--bootstrap', ...peers.flatMap((p) => p.member!.addresses)], {}, ['ip', 'netns', 'exec', host.ns]);
  net.children.push(child);
  host.child = child;
  host.member = member;
  const seen = await net.waitPeers(
    host,
    peers.map((p) => p.member!.peerId),
    peers.length,
    60_000
  );
  if (seen < peers.length) throw new Error(`restarted daemon on ${host.name} sees ${seen} of ${peers.length} peers after 60 s`);
}

/** sshd in one namespace host and restic in another, talking SFTP over the shaped bridge. */
class ResticSftp {
  readonly net: NetFixture;
  readonly client: Host;
  readonly server: Host;
  readonly dir: string;
  readonly key: string;
  private constructor(net: NetFixture, client: Host, server: Host, dir: string) {
    this.net = net;
    this.client = client;
    this.server = server;
    this.dir = dir;
    this.key = join(dir, 'client_key');
  }

  /** Start sshd; returns the helper, or why it cannot run here (the bench then goes on without restic). */
  static async start(net: NetFixture, client: Host, server: Host): Promise<ResticSftp | string> {
    const restic = await runIn(net, client, ['restic', 'version'], process.env, 15_000);
    if (restic.code !== 0) return `restic is not runnable (${restic.stderr.trim().split('\n')[0] || `exit ${restic.code}`}): apt-get install -y restic`;
    const dir = join(net.dir, 'sftp');
    await mkdir(join(dir, 'repos'), { recursive: true });
    const self = new ResticSftp(net, client, server, dir);
    try {
      sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_key')]);
      sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', self.key]);
    } catch (err) {
      return `ssh-keygen failed (${(err as Error).message.split('\n')[0]}): apt-get install -y openssh-client openssh-server`;
    }
    await copyFile(`${self.key}.pub`, join(dir, 'authorized_keys'));
    const config = join(dir, 'sshd_config');
    // Root by key only; StrictModes off because the temp dir's modes are not a home's; no PAM (no session setup).
    await writeFile(
      config,
      [
        `ListenAddress ${server.addr}:${SSH_PORT}`,
        `HostKey ${join(dir, 'host_key')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'Subsystem sftp internal-sftp',
        ''
      ].join('\n')
    );
    // sshd insists on /run/sshd (its privilege-separation directory, compiled in). Rather than create it on the
    // machine, give sshd a private mount namespace whose /run is an empty tmpfs: nothing outlives sshd.
    const sshd = spawn(
      'ip',
      [
        'netns',
        'exec',
        server.ns,
        'unshare',
        '--mount',
        'sh',
        '-c',
        `mount -t tmpfs -o mode=755 p2pbw-run /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f ${config}`
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] }
    );
    net.children.push(sshd);
    let log = '';
    sshd.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
    for (let i = 0; i < 20; i++) {
      if (sshd.exitCode !== null) break;
      if (await net.tcpReach(client, server.addr, SSH_PORT, 1_000)) return self;
      await sleep(500);
    }
    sshd.kill('SIGKILL');
    return `sshd did not start in a namespace: ${log.trim().split('\n').slice(-2).join(' | ') || 'no answer on port 22'}`;
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, RESTIC_PASSWORD, RESTIC_CACHE_DIR: join(this.dir, 'cache') };
    delete env.RESTIC_REPOSITORY;
    delete env.RESTIC_PASSWORD_FILE;
    delete env.RESTIC_PASSWORD_COMMAND;
    return env;
  }

  private async restic(repo: string, args: string[]): Promise<number> {
    const ssh = `ssh -i ${this.key} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -p ${SSH_PORT} root@${this.server.addr} -s sftp`;
    const url = `sftp:root@${this.server.addr}:${join(this.dir, 'repos', repo)}`;
    const r = await runIn(this.net, this.client, ['restic', '-q', '-r', url, '-o', `sftp.command=${ssh}`, ...args], this.env());
    if (r.code !== 0) throw new Error(`restic ${args.join(' ')} (${url}) exited ${r.code}: ${r.stderr.trim().slice(-1000)}`);
    return r.seconds;
  }

  init(repo: string): Promise<number> {
    return this.restic(repo, ['init']);
  }

  backup(repo: string, path: string): Promise<Sample> {
    return measured(this.client, () => this.restic(repo, ['backup', path]));
  }
}

/** Raw TCP from `from` to `to`: one stream of PROBE_BYTES, timed from connect until the receiver has it all. */
async function probeLink(net: NetFixture, from: Host, to: Host): Promise<Sample> {
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      to.ns,
      process.execPath,
      '-e',
      `require('net').createServer((s) => { s.on('data', () => {}); s.on('end', () => s.end()); }).listen(${PROBE_PORT}, '${to.addr}')`
    ],
    { stdio: 'ignore' }
  );
  net.children.push(server);
  try {
    for (let i = 0; i < 20 && !(await net.tcpReach(from, to.addr, PROBE_PORT, 1_000)); i++) await sleep(250);
    const code =
      `const s=require('net').connect(${PROBE_PORT},'${to.addr}');let t;s.on('connect',()=>{t=performance.now();s.end(Buffer.alloc(${PROBE_BYTES}))});` +
      `s.resume();s.on('close',()=>console.log((performance.now()-t)/1000))`;
    return await measured(from, async () => {
      const r = await runIn(net, from, [process.execPath, '-e', code], process.env, 120_000);
      if (r.code !== 0) throw new Error(`link probe failed: ${r.stderr.trim()}`);
      return Number(r.stdout.trim());
    });
  } finally {
    server.kill('SIGKILL');
  }
}

/** Overwrite EDIT_BYTES of fresh random bytes in the middle of the file. */
async function editMiddle(file: string, size: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const edit = randomFillSync(Buffer.allocUnsafe(EDIT_BYTES));
    await fh.write(edit, 0, edit.length, Math.floor(size / 2));
  } finally {
    await fh.close();
  }
}

/** Newest modification time (ms) of the files under `dir`. */
export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv);
  const tree = resolve(arg(flags.rest, '--tree', '/usr/include'));
  const fileSize = parseSize(arg(flags.rest, '--file-size', flags.quick ? '256MiB' : '1GiB'));
  const runs = Number(arg(flags.rest, '--runs', flags.quick ? '1' : '3'));
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs: a whole number in 1..20');
  const rate = arg(flags.rest, '--rate', '40mbit');
  const rateBytes = parseRate(rate) / 8;
  const why = skipReason('p2pbw');
  if (why) throw new Error(`wan: needs network namespaces (${why})`);
  try {
    sh('tc', ['-V']);
  } catch {
    throw new Error('wan: needs tc (iproute2) to shape the links');
  }

  const net = new NetFixture({ prefix: 'p2pbw', subnet: '10.80.0', port: 4001 });
  net.cliBin = installedCommand('wan');
  const rows: WanRow[] = [];
  type RowInit = Pick<WanRow, 'workload' | 'impl' | 'link' | 'what'> & { outcomes: Outcome[]; goal?: string; note?: string };
  const row = (r: RowInit): WanRow => {
    const samples = r.outcomes.flatMap((o) => ('sample' in o ? [o.sample] : []));
    const errors = r.outcomes.flatMap((o) => ('error' in o ? [o.error] : []));
    const seconds = samples.length ? median(samples.map((x) => x.seconds)) : null;
    const sentBytes = samples.length ? median(samples.map((x) => x.sentBytes)) : null;
    const boundSeconds = r.link === 'unshaped' || sentBytes === null ? null : sentBytes / rateBytes;
    const full: WanRow = {
      workload: r.workload,
      impl: r.impl,
      link: r.link,
      what: r.what,
      runs: r.outcomes.length,
      seconds,
      sentBytes,
      boundSeconds,
      ratio: seconds !== null && boundSeconds ? seconds / boundSeconds : null,
      floorSeconds: null,
      goal: r.goal ?? null,
      pass: r.goal && errors.length ? false : null,
      note: errors.length ? `${errors.length} of ${r.outcomes.length} run(s) failed: ${errors[0]}` : (r.note ?? null),
      failedRuns: errors.length,
      samples
    };
    rows.push(full);
    note(
      `wan: ${full.workload} ${full.impl} (${full.link}): ${seconds?.toFixed(2) ?? '-'} s, ${sentBytes === null ? '-' : (sentBytes / 1e6).toFixed(2)} MB sent` +
        (full.ratio !== null ? `, bound ${boundSeconds!.toFixed(2)} s, ${full.ratio.toFixed(2)}x` : '') +
        (full.note ? ` (${full.note})` : '')
    );
    return full;
  };
  try {
    await net.createHub();
    const storage = Array.from({ length: STORAGE_PEERS }, (_, i) => net.addHost(`s${i + 1}`, 11 + i));
    const client = net.addHost('c', 200);
    const sftpHost = net.addHost('sftp', 100);
    const resticClient = net.addHost('rc', 201);
    const shaped = [...storage, client, sftpHost, resticClient];
    const shapeAll = () => {
      for (const h of shaped) shape(h, rate);
    };
    const unshapeAll = () => {
      for (const h of shaped) unshape(h);
    };
    shapeAll();
    note(`wan: ${shaped.length} hosts, every uplink shaped: tbf rate ${rate} burst ${TBF_BURST} latency ${TBF_LATENCY}`);

    for (const [i, h] of storage.entries()) await net.startDaemon(h, i === 0 ? [] : storage[0].member!.addresses, '64GiB', { graceBytes: 64 * 2 ** 30 });
    const startClient = async (h: Host) => {
      await net.startDaemon(
        h,
        storage.flatMap((s) => s.member!.addresses),
        '0',
        { allowAllPaths: true }
      );
      const seen = await net.waitPeers(
        h,
        storage.map((s) => s.member!.peerId),
        STORAGE_PEERS,
        60_000
      );
      if (seen < STORAGE_PEERS) throw new Error(`client ${h.name} sees ${seen} of ${STORAGE_PEERS} storage peers after 60 s`);
    };
    await startClient(client);
    const sftp = await ResticSftp.start(net, resticClient, sftpHost);
    const restic = typeof sftp === 'string' ? null : sftp;
    if (!restic) note(`wan: no restic rows: ${sftp}`);
    /** A p2pbackup backup as one outcome; after a failure the client's daemon is restarted (counted in `restarts`). */
    let restarts = 0;
    const ours = async (what: string, host: Host, path: string): Promise<Outcome> => {
      const o = await attempt(what, () => oursBackup(net, host, path));
      if ('error' in o) {
        note(`wan: restarting ${host.name}'s daemon so that the next step starts from a working client`);
        await restartDaemon(net, host, storage);
        restarts++;
        return { error: `${o.error} (${host.name}'s daemon was restarted after it)` };
      }
      return o;
    };
    /** restic init + backup of a new repository, as one outcome. */
    const resticFirst = (repo: string, path: string) =>
      attempt(`restic first backup into ${repo}`, async () => {
        await restic!.init(repo);
        return restic!.backup(repo, path);
      });

    row({
      workload: 'link',
      impl: 'tcp',
      link: rate,
      what: `raw TCP, one stream, ${PROBE_BYTES / 1e6} MB client -> peer`,
      outcomes: [{ sample: await probeLink(net, client, storage[0]) }]
    });

    // Shaped rows.
    note(`wan: warming the page cache with ${tree}`);
    const treeStat = await walk(tree, true);
    const treeWhat = `first backup of ${tree} (${treeStat.files} files, ${(treeStat.bytes / 1e6).toFixed(1)} MB)`;
    const goal = `<= ${GOAL_RATIO}x bound`;
    const include = row({ workload: 'include', impl: 'p2pbackup', link: rate, what: treeWhat, outcomes: [await ours('include', client, tree)], goal });
    const resticInclude = restic
      ? row({ workload: 'include', impl: 'restic-sftp', link: rate, what: treeWhat, outcomes: [await resticFirst('include', tree)] })
      : null;

    const fileDir = join(net.dir, 'file-data');
    await mkdir(fileDir);
    const file = join(fileDir, 'random.bin');
    note(`wan: generating ${fileSize >> 20} MiB of random bytes`);
    await generate(file, fileSize);
    const fileWhat = `random ${fileSize >> 20} MiB file, first backup`;
    const first = await ours('file-first', client, fileDir);
    row({ workload: 'file-first', impl: 'p2pbackup', link: rate, what: fileWhat, outcomes: [first] });
    if ('error' in first) {
      // The edit rows need the file stored once: do that unshaped (setup, shown as such), then shape again.
      note('wan: the shaped first backup failed; backing the file up unshaped (setup) so that the edit rows can run');
      unshapeAll();
      row({
        workload: 'file-first',
        impl: 'p2pbackup',
        link: 'unshaped',
        what: `${fileWhat} again (setup for edit: the shaped one failed)`,
        outcomes: [await ours('file-first unshaped', client, fileDir)]
      });
      shapeAll();
    }
    const resticFile = restic
      ? row({ workload: 'file-first', impl: 'restic-sftp', link: rate, what: fileWhat, outcomes: [await resticFirst('file', fileDir)] })
      : null;
    const resticEdits = resticFile !== null && resticFile.failedRuns === 0;
    const editWhat = `${EDIT_BYTES / 1024} KiB overwritten mid-file, backed up again`;
    const editRuns = async () => {
      const mine: Outcome[] = [];
      const theirs: Outcome[] = [];
      for (let i = 0; i < runs; i++) {
        await editMiddle(file, fileSize);
        mine.push(await ours('edit', client, fileDir));
        if (resticEdits) theirs.push(await attempt('restic edit', () => restic!.backup('file', fileDir)));
        note(`wan:   edit run ${i + 1}/${runs} done`);
      }
      return { ours: mine, theirs };
    };
    const editShaped = await editRuns();
    const edit = row({ workload: 'edit', impl: 'p2pbackup', link: rate, what: editWhat, outcomes: editShaped.ours, goal });
    const resticEdit = resticEdits ? row({ workload: 'edit', impl: 'restic-sftp', link: rate, what: editWhat, outcomes: editShaped.theirs }) : null;

    // Floors: the same work with every link unshaped.
    unshapeAll();
    note('wan: every qdisc removed: floor rows (the same work unshaped)');
    const client2 = net.addHost('c2', 202);
    await startClient(client2);
    const includeFloor = row({
      workload: 'include',
      impl: 'p2pbackup',
      link: 'unshaped',
      what: `${treeWhat}, a second fresh client`,
      outcomes: [await ours('include floor', client2, tree)]
    });
    const editFloor = await editRuns();
    const editFloorRow = row({ workload: 'edit', impl: 'p2pbackup', link: 'unshaped', what: editWhat, outcomes: editFloor.ours });
    if (restic) {
      const rf = row({
        workload: 'include',
        impl: 'restic-sftp',
        link: 'unshaped',
        what: `${treeWhat}, a fresh repository`,
        outcomes: [await resticFirst('include-floor', tree)]
      });
      resticInclude!.floorSeconds = rf.seconds;
      if (resticEdit)
        resticEdit.floorSeconds = row({ workload: 'edit', impl: 'restic-sftp', link: 'unshaped', what: editWhat, outcomes: editFloor.theirs }).seconds;
    } else {
      row({ workload: 'include', impl: 'restic-sftp', link: rate, what: 'restic over SFTP', outcomes: [], note: sftp as string });
    }
    if (restarts) note(`wan: the client daemon was restarted ${restarts} time(s) after a failed backup`);
    for (const [goalRow, floor] of [
      [include, includeFloor],
      [edit, editFloorRow]
    ] as const) {
      goalRow.floorSeconds = floor.seconds;
      if (goalRow.failedRuns === 0) Object.assign(goalRow, verdict(goalRow));
    }
  } finally {
    await net.cleanup();
  }
  if (net.leftover().length) note(`wan: warning: namespaces left behind: ${net.leftover().join(', ')}`);

  if (flags.json) return printJson(rows);
  const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
  const out = (s: string) => process.stdout.write(s + '\n');
  out(`Backups over shaped uplinks: p2pbackup (client + ${STORAGE_PEERS} storage peers, each in its own network namespace, 3-of-5, happy 4)`);
  out(
    `and restic 0.14 over SFTP (sshd in its own namespace). Every host's uplink: tbf rate ${rate} (${(rateBytes / 1e6).toFixed(2)} MB/s), burst ${TBF_BURST},`
  );
  out(`latency ${TBF_LATENCY}. sent = the client's veth TX bytes (frames, headers included); bound = sent / rate; floor = the same work unshaped.`);
  out(`seconds and sent are medians of the runs; s/max = seconds / max(bound, floor). Goal: include and edit <= ${GOAL_RATIO}x bound.`);
  out('MB = 1e6 bytes.');
  const x = (v: number | null) => (v === null ? '-' : `${v.toFixed(2)}x`);
  // Notes (failures and what bounds a failing row) are listed under the table, referred to by number.
  const notes: string[] = [];
  const result = (r: WanRow) => {
    const ref = r.note ? ` [${notes.push(`${r.workload} ${r.impl} ${r.link}: ${r.note}`)}]` : '';
    return (r.pass === null ? '-' : r.pass ? 'pass' : 'FAIL') + ref;
  };
  out(
    formatTable(
      ['workload', 'impl', 'link', 'runs', 'seconds', 'sent MB', 'bound s', 's/bound', 'floor s', 's/max', 'goal', 'result'],
      rows.map((r) => [
        r.workload,
        r.impl,
        r.link,
        r.runs,
        f(r.seconds),
        r.sentBytes === null ? '-' : f(r.sentBytes / 1e6),
        f(r.boundSeconds),
        x(r.ratio),
        f(r.floorSeconds),
        x(overBounds(r)),
        r.goal ?? '-',
        result(r)
      ])
    )
  );
  for (const [i, n] of notes.entries()) out(`[${i + 1}] ${n}`);
}
