// Commands and options. Each action is a thin client of the daemon's API (or of the peer layer for
// `init`, `daemon`, `swarm` and `demo`, which run peers themselves).
import { Command, Option } from 'commander';
import QRCode from 'qrcode';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { resolveHome } from '../peer/home.ts';
import { formatSize } from '../store/size.ts';
import { P2PBackupError } from '../common/errors.ts';
import { ApiClient, errorFromLine } from './api-client.ts';
import { createProgress, createStatus } from './progress.ts';
import { EXIT } from './exit-codes.ts';

interface Globals {
  home?: string;
  json?: boolean;
}

function out(obj: unknown, json: boolean | undefined, human: () => string) {
  process.stdout.write(json ? JSON.stringify(obj) + '\n' : human() + '\n');
}

function intOption(name: string) {
  return (v: string) => {
    if (!/^\d+$/.test(v)) throw new P2PBackupError('ERR_USAGE', `${name} must be a whole number, got "${v}"`);
    return Number(v);
  };
}

export function buildProgram(): Command {
  const program = new Command('p2pbackup')
    .description('Peer-to-peer encrypted backup: encrypt, erasure-code k-of-n, spread over a swarm.')
    .option('--home <dir>', 'home folder of this peer (default: $P2PBACKUP_HOME or $XDG_DATA_HOME/p2pbackup)')
    .option('--json', 'machine-readable output on stdout')
    .exitOverride()
    .showHelpAfterError();
  const globals = (): Globals => program.opts<Globals>();
  const home = () => resolveHome(globals().home);

  program
    .command('init')
    .description('create a peer home: identity, configuration, API token (and a swarm key)')
    .option('--bootstrap <multiaddr...>', 'peers to join at start', [])
    .option('--listen <multiaddr...>', 'listen addresses')
    .option('--announce <multiaddr...>', 'addresses to announce')
    .option('--offer <size>', 'disk offered to the swarm, e.g. 20GiB')
    .option('--swarm-key', 'create a new private-swarm key in HOME/swarm.key (share it with your peers)')
    .option('--swarm-key-file <file>', 'join a private swarm: copy this swarm key into the home')
    .option('--no-mdns', 'do not discover peers on the LAN')
    .option('--api-port <port>', 'local API port (default: any free port)', intOption('--api-port'))
    .option('--relay-server', 'relay connections for peers that cannot be reached directly (small, short: control traffic)')
    .option('--relay-client', 'behind a NAT that cannot be forwarded: be reachable through relays')
    .option('--upnp', 'ask the router for a port mapping (UPnP)')
    .option('--api-host <address>', 'bind the API here instead of 127.0.0.1 (anyone who can reach it still needs the token)')
    .action(async (o) => {
      const { initHome } = await import('../peer/init.ts');
      const r = await initHome(home(), {
        bootstrap: o.bootstrap, listen: o.listen, announce: o.announce, offer: o.offer, mdns: o.mdns,
        swarmKey: o.swarmKey === true, swarmKeyFile: o.swarmKeyFile, apiPort: o.apiPort, apiHost: o.apiHost, relayServer: o.relayServer, relayClient: o.relayClient, upnp: o.upnp
      });
      const qr = globals().json ? '' : await QRCode.toString(r.recoveryCap, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
      out(r, globals().json, () => [
        `initialized ${r.home}`,
        `peer id: ${r.peerId}`,
        ...(r.swarmKey ? [`swarm key: ${r.swarmKey} (copy it to every peer of the swarm)`] : []),
        '',
        'RECOVERY CAP: with it alone, a replacement device becomes this one (identity, configuration, folders).',
        'Write it down or photograph the code, and keep it secret: it grants full control. This device keeps a copy in HOME/recovery.cap, which is lost with the device.',
        r.recoveryCap,
        qr
      ].join('\n'));
    });

  program
    .command('swarm-key')
    .description('print a new private-swarm key (the swarm.key format); give the file to every peer')
    .action(async () => {
      const { generateSwarmKey } = await import('../net/index.ts');
      process.stdout.write(generateSwarmKey());
    });

  program
    .command('daemon')
    .description('run this peer: join the swarm, store shares for others, serve the local API')
    .option('--bootstrap <multiaddr...>', 'extra peers to join at start', [])
    .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'info')
    .option('--read-only', 'a light node: offer no storage, hold no write caps; browse and download by read cap')
    .action(async (o) => {
      const { runDaemon } = await import('../daemon/index.ts');
      await runDaemon(home(), { bootstrap: o.bootstrap, logLevel: o.logLevel, readOnly: o.readOnly === true, healthOverride: process.env.P2PBACKUP_HEALTH });
    });

  const capCmd = program.command('cap').description('capabilities: inspect, derive, show as a QR code');
  capCmd
    .command('show')
    .description('check a cap, name its kind, derive its verify cap; --qr draws it for a phone')
    .argument('<cap>')
    .option('--qr', 'draw the cap as a QR code in the terminal')
    .action(async (text: string, o) => {
      // Pure computation on the cap: no daemon needed (a borrowed machine can show a cap offline).
      const { parseCap, formatCap, toVerifyCap } = await import('../caps/index.ts');
      const cap = parseCap(text);
      const r = { cap: formatCap(cap), type: cap.type, verifyCap: cap.type === 'lit' || cap.type === 'blob' ? null : formatCap(toVerifyCap(cap)) };
      const qr = o.qr ? await QRCode.toString(r.cap, { type: 'terminal', small: true, errorCorrectionLevel: 'M' }) : '';
      out(o.qr && globals().json ? { ...r, qr } : r, globals().json, () => [
        `type:       ${r.type}${r.type === 'mr' || r.type === 'blob' || r.type === 'lit' ? ' (grants read access: share it only with whom may read)' : r.type === 'mw' ? ' (WRITE cap: never share it)' : ''}`,
        `cap:        ${r.cap}`,
        `verify cap: ${r.verifyCap ?? (r.type === 'blob' ? '(none: check it with p2pbackup check, which checks every pack it reaches)' : '(none: a literal cap holds its data)')}`,
        ...(o.qr ? ['', qr] : [])
      ].join('\n'));
    });

  program
    .command('put')
    .description('store a file in the swarm; prints its read cap')
    .argument('<file>')
    .option('-k <k>', 'shares needed to read the file', intOption('-k'))
    .option('-n <n>', 'shares made', intOption('-n'))
    .option('--happy <h>', 'distinct peers that must hold shares', intOption('--happy'))
    .action(async (file: string, o) => {
      const path = resolve(file);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) throw new P2PBackupError('ERR_USAGE', `not a readable file: ${file}`);
      const api = await ApiClient.forHome(home());
      const q = new URLSearchParams({ progress: '1' });
      if (o.k !== undefined) q.set('k', String(o.k));
      if (o.n !== undefined) q.set('n', String(o.n));
      if (o.happy !== undefined) q.set('happy', String(o.happy));
      const progress = createProgress('put', st.size, globals().json === true);
      let result: any;
      try {
        result = await operation(api, 'POST', `/api/files?${q}`, { path }, (e) => { if (e.type === 'client:upload:encode') progress.update(e); });
      } finally {
        progress.stop();
      }
      out(result, globals().json, () => result.cap);
    });

  program
    .command('get')
    .description('fetch a file by its cap, verified; to stdout or -o FILE')
    .argument('<cap>')
    .option('-o, --output <file>', 'write here (atomically) instead of stdout')
    .action(async (cap: string, o) => {
      const api = await ApiClient.forHome(home());
      const res = await api.request('GET', `/api/files/${encodeURIComponent(cap)}`);
      const size = Number(res.headers.get('content-length') ?? 0);
      const body = Readable.fromWeb(res.body as any);
      if (!o.output) {
        await pipeline(body, process.stdout);
        return;
      }
      const target = resolve(o.output);
      const tmp = `${target}.p2pbackup-tmp-${process.pid}`;
      const progress = createProgress('get', size, globals().json === true);
      let done = 0;
      const count = new Transform({
        transform(chunk, _enc, cb) {
          done += chunk.length;
          progress.update({ type: 'bytes', bytes: done });
          cb(null, chunk);
        }
      });
      try {
        await pipeline(body, count, createWriteStream(tmp));
        if (done !== size) throw new P2PBackupError('ERR_CORRUPT_SHARE', `download ended after ${done} of ${size} bytes`);
        await rename(tmp, target);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      } finally {
        progress.stop();
      }
      out({ path: target, size }, globals().json, () => `wrote ${target} (${size} bytes)`);
    });


  const collect = (v: string, prev: string[] = []) => [...prev, v];

  program
    .command('backup')
    .description('back up a folder now: a new snapshot, incremental (unchanged files are not read again)')
    .argument('<dir>')
    .option('--exclude <pattern>', 'skip paths matching this glob (repeatable)', collect, [])
    .option('--exclude-file <file>', 'read exclude patterns from a file (repeatable)', collect, [])
    .option('--exclude-if-present <name>', 'skip directories containing a file of this name (repeatable)', collect, [])
    .option('-v, --verbose', 'list every file and directory as it is done (else a status line every half second)')
    .action(async (dir: string, o) => {
      const abs = resolve(dir);
      const st = await stat(abs).catch(() => null);
      if (!st?.isDirectory()) throw new P2PBackupError('ERR_USAGE', `not a directory: ${dir}`);
      const excludes = [...o.exclude];
      for (const f of o.excludeFile) {
        const text = await readFile(f, 'utf8').catch((e) => { throw new P2PBackupError('ERR_USAGE', `cannot read exclude file ${f}: ${e.code ?? e.message}`); });
        excludes.push(...text.split('\n').map((l: string) => l.trim()).filter((l: string) => l && !l.startsWith('#')));
      }
      const api = await ApiClient.forHome(home());
      const json = globals().json === true;
      const status = createStatus(json, o.verbose === true);
      const folder = await operation(api, 'POST', '/api/backup', { path: abs, excludes, excludeIfPresent: o.excludeIfPresent, verbose: o.verbose === true }, (e) => {
        if (json) process.stdout.write(JSON.stringify({ type: 'status', event: e }) + '\n');
        else status.event(e);
      }).finally(() => status.stop());
      const snap = folder.lastSnapshot;
      const st2 = folder.lastStats ?? {};
      const skipped: { path: string; error: string }[] = st2.skipped ?? [];
      const secs = status.summary().seconds;
      out({ type: 'summary', folder: folder.path, rootCap: folder.rootCap, snapshotCap: snap?.cap, state: folder.state, seconds: secs, stats: st2 }, json, () => [
        `snapshot ${snap?.cap ?? '(none)'}`,
        `root cap (restores this folder anywhere; keep it secret): ${folder.rootCap}`,
        `${st2.files} files, ${st2.dirs} dirs, ${st2.symlinks} symlinks; ${st2.unchanged} unchanged (not read), ${(st2.bytesRead / 1e6).toFixed(1)} MB read of ${(st2.bytesTotal / 1e6).toFixed(1)} MB; ${secs.toFixed(1)} s`,
        ...(skipped.length ? [`skipped ${skipped.length}:`, ...skipped.map((x) => `  ${x.path}: ${x.error}`)] : [])
      ].join('\n'));
      if (skipped.length) process.exitCode = EXIT.INCOMPLETE;
    });

  program
    .command('snapshots')
    .description('list the snapshots of a folder (its root cap, path or id)')
    .argument('<rootcap|folder>')
    .action(async (what: string) => {
      const api = await ApiClient.forHome(home());
      const r = await api.json<{ rootCap: string; snapshots: { cap: string; time: number }[] }>('GET', `/api/snapshots?of=${encodeURIComponent(isCap(what) ? what : resolve(what))}`);
      out(r, globals().json, () => r.snapshots.map((s) => `${new Date(s.time).toISOString()}  ${s.cap}`).join('\n') || '(no snapshots yet)');
    });

  program
    .command('ls')
    .description('list a directory of a snapshot (a snapshot cap, or a root cap for the latest)')
    .argument('<cap>')
    .argument('[path]')
    .action(async (cap: string, path: string | undefined) => {
      const api = await ApiClient.forHome(home());
      const q = new URLSearchParams({ cap });
      if (path) q.set('path', path);
      const r = await api.json<{ entries: { name: string; type: string; mode: number; size?: number; mtimeNs: string; target?: string }[] }>('GET', `/api/ls?${q}`);
      out(r, globals().json, () => r.entries.map((e) => `${e.type === 'dir' ? 'd' : e.type === 'symlink' ? 'l' : '-'}${(e.mode & 0o777).toString(8).padStart(4, '0')} ${String(e.size ?? '').padStart(12)} ${new Date(Number(BigInt(e.mtimeNs) / 1000000n)).toISOString()} ${JSON.stringify(e.name).slice(1, -1)}${e.target ? ` -> ${e.target}` : ''}`).join('\n'));
    });

  program
    .command('diff')
    .description('what changed between two snapshots')
    .argument('<snap1>')
    .argument('<snap2>')
    .action(async (a: string, b: string) => {
      const api = await ApiClient.forHome(home());
      const r = await api.json<Record<string, string[]>>('GET', `/api/diff?${new URLSearchParams({ a, b })}`);
      out(r, globals().json, () => [
        ...(r.added ?? []).map((p) => `+ ${p}`), ...(r.removed ?? []).map((p) => `- ${p}`),
        ...(r.changed ?? []).map((p) => `M ${p}`), ...(r.metadata ?? []).map((p) => `U ${p}`)
      ].join('\n') || '(no differences)');
    });

  program
    .command('restore')
    .description('restore a snapshot (or a root cap: its latest snapshot) into TARGET')
    .argument('<cap>')
    .argument('<target>')
    .option('--path <subpath>', 'restore only this path of the snapshot')
    .addOption(new Option('--overwrite <mode>', 'existing files: never, if-changed (size+mtime differ), always').choices(['never', 'if-changed', 'always']).default('if-changed'))
    .option('-v, --verbose', 'list every file as it is written (else a status line every half second)')
    .action(async (cap: string, target: string, o) => {
      const api = await ApiClient.forHome(home());
      const json = globals().json === true;
      const status = createStatus(json, o.verbose === true);
      const r = await operation(api, 'POST', '/api/restore', { cap, target: resolve(target), path: o.path, overwrite: o.overwrite, verbose: o.verbose === true }, (e) => {
        if (json) process.stdout.write(JSON.stringify({ type: 'status', event: e }) + '\n');
        else status.event(e);
      }).finally(() => status.stop());
      const failed = r.stats?.failed ?? [];
      out({ type: 'summary', ...r }, json, () => `restored ${r.stats.files} files (${r.stats.bytesWritten} bytes) into ${resolve(target)}${failed.length ? `; ${failed.length} failed:\n${failed.map((f: any) => `  ${f.path}: ${f.error}`).join('\n')}` : ''}`);
      if (failed.length) process.exitCode = EXIT.INCOMPLETE;
    });

  program
    .command('forget')
    .description("drop snapshots from a folder's head by retention rules (restic semantics)")
    .argument('<folder>')
    .option('--keep-last <n>', 'keep the n latest', intOption('--keep-last'))
    .option('--keep-hourly <n>', 'keep the latest of each of the last n hours', intOption('--keep-hourly'))
    .option('--keep-daily <n>', 'keep the latest of each of the last n days', intOption('--keep-daily'))
    .option('--keep-weekly <n>', 'keep the latest of each of the last n weeks', intOption('--keep-weekly'))
    .option('--keep-monthly <n>', 'keep the latest of each of the last n months', intOption('--keep-monthly'))
    .option('--keep-yearly <n>', 'keep the latest of each of the last n years', intOption('--keep-yearly'))
    .action(async (folder: string, o) => {
      const api = await ApiClient.forHome(home());
      const r = await api.json<{ keep: unknown[]; remove: unknown[] }>('POST', '/api/forget', { folder: isCap(folder) ? folder : resolve(folder), ...o });
      out(r, globals().json, () => `kept ${r.keep.length} snapshots, removed ${r.remove.length}`);
    });

  const watchCmd = program.command('watch').description('folders the daemon mirrors continuously');
  watchCmd
    .command('add')
    .argument('<dir>')
    .option('--exclude <pattern>', 'skip paths matching this glob (repeatable)', collect, [])
    .action(async (dir: string, o) => {
      const api = await ApiClient.forHome(home());
      const f = await api.json<any>('POST', '/api/folders', { path: resolve(dir), watch: true, excludes: o.exclude });
      out(f, globals().json, () => `watching ${f.path}\nroot cap (restores this folder anywhere; keep it secret): ${f.rootCap}`);
    });
  watchCmd
    .command('remove')
    .argument('<dir|id>')
    .action(async (dir: string) => {
      const api = await ApiClient.forHome(home());
      const f = await api.json<any>('DELETE', `/api/folders?folder=${encodeURIComponent(isCap(dir) ? dir : dir.includes('/') || dir === '.' ? resolve(dir) : dir)}`);
      out(f, globals().json, () => `no longer watching ${f.path} (its snapshots stay in the swarm)`);
    });
  watchCmd
    .command('list')
    .action(async () => {
      const api = await ApiClient.forHome(home());
      const r = await api.json<{ folders: any[] }>('GET', '/api/folders');
      out(r, globals().json, () => r.folders.map((f) => `${f.state.padEnd(12)} ${f.watch ? 'watched' : 'manual '} ${f.path}  last: ${f.lastSnapshot ? new Date(f.lastSnapshot.time).toISOString() : 'never'}${f.pending ? `  pending: ${f.pending}` : ''}${f.lastError ? `  error: ${f.lastError}` : ''}`).join('\n') || '(no folders)');
    });

  program
    .command('recover')
    .description('rebuild this device from its recovery cap: configuration, identity, folders (restored in place)')
    .argument('<recoverycap>')
    .option('--bootstrap <multiaddr...>', 'a way into the swarm (else mDNS on the LAN)', [])
    .option('--swarm-key-file <file>', 'the swarm key, for a private swarm')
    .option('--listen <multiaddr...>', 'listen addresses for this device (default: as before)')
    .action(async (cap: string, o) => {
      const { recoverHome } = await import('../peer/recovery.ts');
      const json = globals().json === true;
      const r = await recoverHome(home(), cap, { bootstrap: o.bootstrap, swarmKeyFile: o.swarmKeyFile, listen: o.listen, onStep: json ? undefined : (l) => process.stderr.write(l + '\n') });
      out(r, json, () => `recovered peer ${r.peerId} into ${home()}\n${r.folders.map((f) => `  ${f.path}: ${f.snapshot ? `${f.files} files restored` : 'no snapshot yet'}`).join('\n')}\nstart \`p2pbackup --home ${home()} daemon\` to resume watching`);
    });

  program
    .command('check')
    .description('who holds the shares of a file (read or verify cap); --deep: everything a snapshot or folder root cap needs')
    .argument('<cap>')
    .option('--deep', 'walk a snapshot or folder root cap and check every snapshot, directory and file')
    .option('--verify', 'download every share and check every block against the cap (no decryption)')
    .option('--repair', 'rebuild missing or corrupt shares and place them on new distinct peers')
    .action(async (cap: string, o) => {
      const api = await ApiClient.forHome(home());
      const json = globals().json === true;
      const r = await operation(api, 'POST', '/api/check', { cap, deep: o.deep === true, verify: o.verify === true, repair: o.repair === true }, (e) => {
        if (!json && e.type === 'client:check:file') process.stderr.write(`\rchecked ${e.done}/${e.total}`);
      });
      if (!json && o.deep) process.stderr.write('\n');
      out(r, json, () => renderCheck(r));
      if (!r.recoverable) process.exitCode = EXIT.NOT_ENOUGH_SHARES;
    });

  program
    .command('peers')
    .description('list connected peers')
    .action(async () => {
      const api = await ApiClient.forHome(home());
      const r = await api.json<{ peers: { id: string; addresses: string[] }[] }>('GET', '/api/peers');
      out(r, globals().json, () => r.peers.map((p) => `${p.id} ${p.addresses.join(' ')}`).join('\n') || '(no peers connected)');
    });

  program
    .command('ping')
    .description('dial a peer by multiaddr and measure the round trip (shows when it goes through a relay)')
    .argument('<multiaddr>')
    .action(async (address: string) => {
      const api = await ApiClient.forHome(home());
      const r = await api.json<{ ms: number; relayed: boolean; remoteAddr: string }>('POST', '/api/ping', { address });
      out(r, globals().json, () => `${r.ms} ms via ${r.remoteAddr}${r.relayed ? ' (relayed: control traffic only)' : ''}`);
    });

  program
    .command('status')
    .description('this peer: identity, addresses, storage offered and used, API')
    .action(async () => {
      const api = await ApiClient.forHome(home());
      const s = await api.json<any>('GET', '/api/status');
      // Per-peer balances; an older daemon without the fairness layer answers 404/501.
      const f = await api.json<any>('GET', '/api/fairness').catch(() => null);
      if (globals().json && f) s.fairnessReport = f;
      out(s, globals().json, () => [
        `peer id:   ${s.peerId}`,
        `home:      ${s.home}`,
        `api:       ${s.api.url}`,
        `swarm:     ${s.privateSwarm ? 'private (swarm key)' : 'open'}, ${s.peersConnected} peers connected`,
        `storage:   ${s.storage.shares} shares, ${s.storage.used} of ${s.storage.offered} bytes offered`,
        `encoding:  ${s.encoding.k}-of-${s.encoding.n}, happy ${s.encoding.happy}`,
        `addresses: ${s.addresses.join('\n           ')}`,
        `folders:   ${s.folders.length ? '' : '(none)'}`,
        ...s.folders.map((f: any) => `  ${f.state.padEnd(12)} ${f.watch ? 'watched' : 'manual '} ${f.path}  last snapshot: ${f.lastSnapshot ? new Date(f.lastSnapshot.time).toISOString() : 'never'}${f.pending ? `, ${f.pending} changes pending` : ''}${f.lastError ? `  error: ${f.lastError}` : ''}`),
        ...(f ? fairnessLines(f) : []),
        ...(s.health ? [`health:    ${s.health.lastRun ? `last round ${new Date(s.health.lastRun).toISOString()}` : 'no round yet'}, ${s.health.filesTracked} objects tracked, ${s.health.repaired} repaired, durability ${s.health.durability === null ? 'unknown' : s.health.durability.toFixed(6)}`] : [])
      ].join('\n'));
    });

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
      const { simulateIncentives, formatTable, renderChart } = await import('../fairness/sim/index.ts');
      let r;
      try {
        r = simulateIncentives({ samples: o.samples, seed: o.seed, ratio: o.ratio, meanA: o.meanA, meanB: o.meanB, hMin: o.hMin, hMax: o.hMax, points: o.points });
      } catch (err) {
        if (err instanceof RangeError) throw new P2PBackupError('ERR_USAGE', err.message);
        throw err;
      }
      if (o.out) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(resolve(o.out), renderChart(r));
      }
      const json = { model: r.model, points: r.points.map((p) => ({ heterogeneity: p.heterogeneity, welfare: p.welfare })), threshold: r.threshold };
      out(json, globals().json, () => formatTable(r) + (o.out ? `\nchart: ${resolve(o.out)}` : ''));
    });

  program
    .command('swarm')
    .description('start N storage peers on loopback (one process each) and make HOME a client joined to them')
    .addOption(new Option('--peers <n>', 'storage peers to start').default(5).argParser(intOption('--peers')))
    .action(async (o) => {
      const { runSwarm } = await import('../peer/swarm.ts');
      await runSwarm({ dir: home(), peers: o.peers, onReady: (info) => out(info, globals().json, () => `swarm ready: ${info.peers.length} peers; client home ${info.client.home}\ntry: p2pbackup --home ${info.client.home} put FILE\n(Ctrl-C stops them all)`) });
    });

  program
    .command('demo')
    .description('the main job on an embedded default: a local swarm on loopback backs up a folder (a sample, or DIR), loses two peers, and a fresh device restores it from the root cap')
    .argument('[dir]', 'folder to back up (default: a generated sample tree)')
    .action(async (dir?: string) => {
      const { runDemo } = await import('../peer/demo.ts');
      await runDemo({ source: dir, log: (line: string) => process.stdout.write(line + '\n') });
    });

  program
    .command('bench')
    .description('run a benchmark (coding, pipeline, transfer)')
    .argument('<name>')
    .allowUnknownOption()
    .argument('[args...]')
    .action(async (name: string, args: string[]) => {
      const bench = await import(new URL('../../bench/index.ts', import.meta.url).href);
      process.exitCode = await bench.main([name, ...args, ...(globals().json ? ['--json'] : [])]);
    });

  return program;
}

const isCap = (s: string) => s.startsWith('p2pb:');

function numOption(name: string) {
  return (v: string) => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new P2PBackupError('ERR_USAGE', `${name} must be a number, got "${v}"`);
    return x;
  };
}

/** The status command's fairness section: totals, then one line per peer (most in my debt first). */
function fairnessLines(f: any): string[] {
  const size = (b: number) => formatSize(Math.max(0, Math.round(b)));
  const s = f.settings;
  const lines = [
    `fairness:  ${s.enabled ? `on, ratio ${s.ratio} x + ${size(s.graceBytes)} grace` : 'off'}; I offer ${size(f.offer.offered)} (${size(f.offer.usedByOthers)} used by others), I use ${size(f.use.placed)} on ${f.use.peers} peers`
  ];
  for (const p of f.peers) {
    lines.push(`  ${p.peer.slice(-12)}  they store ${size(p.theyStoreForMe).padStart(10)} for me, I store ${size(p.storedForThem).padStart(10)} for them, limit ${size(p.limit).padStart(10)}  audits ${p.audits.ok}/${p.audits.ok + p.audits.failed}${p.standing === 'failed' ? ' FAILED' : ''}${p.uptime.connected ? '  online' : ''}`);
  }
  return lines;
}

/** Human form of a check, deep check or repair report. */
function renderCheck(r: any): string {
  const file = (f: any) => `${f.recoverable ? (f.healthy ? 'healthy    ' : 'degraded   ') : 'UNRECOVERABLE'} ${f.found}/${f.total} shares (need ${f.needed}) on ${f.hosts} hosts, happiness ${f.happiness}${f.corrupt?.length ? `, corrupt: ${f.corrupt.map((c: any) => `share ${c.shareNum} on ${c.peer}`).join(', ')}` : ''}  ${f.cap.slice(0, 48)}…`;
  if (r.files) {
    return [
      ...r.files.filter((f: any) => !f.healthy).map(file),
      ...(r.repairs ?? []).map((x: any) => `repaired ${x.cap.slice(0, 40)}…: placed ${x.placed.length}, deleted ${x.deleted.length}${x.failures.length ? `, ${x.failures.length} failures` : ''}`),
      ...r.errors.map((e: any) => `error: ${e.error}`),
      `${r.objects} objects in ${r.snapshots.length} snapshot(s): ${r.healthy} healthy, ${r.unhealthy} not, ${r.unrecoverable} unrecoverable`
    ].join('\n');
  }
  if (r.before) {
    return [`before: ${file(r.before)}`, `after:  ${file(r.after)}`, ...r.placed.map((p: any) => `placed share ${p.shareNum} on ${p.peer}`), ...r.deleted.map((p: any) => `deleted corrupt share ${p.shareNum} on ${p.peer}`), ...r.failures.map((f: any) => `failure: ${f.error}`)].join('\n');
  }
  const holders = Object.entries(r.holders ?? {}).map(([s, peers]: any) => `  share ${s}: ${peers.join(', ')}`);
  return [file(r), ...holders].join('\n');
}

/** Call a long-running API operation: its progress events go to `onEvent`; resolves with its result. */
async function operation(api: ApiClient, method: string, path: string, json: unknown, onEvent: (e: any) => void): Promise<any> {
  const res = await api.request(method, path, { json });
  for await (const line of ndjson(res)) {
    if (line.event) onEvent(line.event);
    else if (line.error) throw errorFromLine(line.error);
    else if ('result' in line) return line.result;
  }
  throw new P2PBackupError('ERR_API', 'the daemon closed the operation without a result');
}

async function* ndjson(res: Response): AsyncGenerator<any> {
  let buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as any as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) yield JSON.parse(line);
    }
  }
  if (buf.trim()) yield JSON.parse(buf);
}
