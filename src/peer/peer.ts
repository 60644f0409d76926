// One running peer: the libp2p node serving this home's share store, and the client that puts and
// gets files through the swarm. The daemon wraps it with the API; tests can run it in-process.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { P2PBackupError } from '../common/errors.ts';
import { DiskStore } from '../store/index.ts';
import { createNode, loadOrCreatePeerKey, rankByDistance, shouldAnnounce, STORAGE_PROTOCOL, type P2PNode } from '../net/index.ts';
import type { PeerId } from '@libp2p/interface';
import { fileInput } from '../format/index.ts';
import { download, upload, checkFile, checkDeep, repairFile, AuditLedger, type ServerFinder, type ShareServer, type FileCheckReport, type RepairReport } from '../client/index.ts';
import type { CheckRequest, PeerInfo, PeerService, ProgressEvent, PutOptions, PutResult, StatusReport } from '../api/service.ts';
import { createHealthService, type HealthService } from './health.ts';
import { validateEncoding, type PeerConfig } from './config.ts';
import { homePaths } from './home.ts';
import { createFolderService, type FolderService } from './folders.ts';
import { buildRecoveryPayload, publishRecovery, readRecoveryCap } from './recovery.ts';
import { createFairness, LEDGER_DIR, SPOT_CHECK_INTERVAL_MS, type Fairness, type FairnessReport, type SpotCheckResult } from '../fairness/index.ts';

const PROVIDE_QUEUE_MAX = 1_000; // storage indexes waiting to be announced; beyond, they are found by the closest-peer walk
const ANNOUNCE_UNLESS_CLOSEST = 10; // holders among this many closest peers do not announce (downloads ask 2n = 10 directly)
const KNOWN_LIST_MAX = 64; // the last-resort LIST (locate) asks at most this many known peers
const PROVIDE_INTERVAL_MS = 1_000;
const SLOW_FAILURE_MS = 1_000; // a failure that took this long was a timeout, not a refusal
const DOWN_BACKOFF_MS = 30_000; // a peer that failed to answer is left out of candidate lists this long
const DHT_REFRESH_MS = 30_000; // how often candidate selection may walk the DHT
const RECOVERY_RETRY_MS = 15_000; // republish the recovery record until enough peers hold it

export interface PeerInit {
  home: string;
  config: PeerConfig;
  log?: Logger;
  /** Open the folder service (sync journal, backup cache). Default true; a throwaway peer skips it. */
  folders?: boolean;
  /** A light node: serves no storage, starts no sync engine, and the API refuses every write. */
  readOnly?: boolean;
}

export interface Peer extends PeerService {
  readonly peerId: string;
  readonly node: P2PNode;
  readonly store: DiskStore;
  /** Storage peers for a storage index, as the client sees them (for publishRecord / fetchRecord and tests). */
  readonly finder: ServerFinder;
  readonly folders: FolderService | null;
  /** Ledger, admission policy and placement preference (src/fairness/). */
  readonly fairness: Fairness;
  fairnessReport(): Promise<FairnessReport>;
  checkFairness(): Promise<SpotCheckResult[]>;
  /** The health loop (started by startServices), null before. */
  health: HealthService | null;
  apiUrl: string;
  addresses(): string[];
  /** Files put and fetched since start (metrics). */
  transfers(): { uploads: number; downloads: number };
  /** Start the long-running services (sync engine, recovery record): the daemon calls this. */
  startServices(): Promise<void>;
  stop(): Promise<void>;
}

/** The convergence secret: files stored twice by this owner converge; other owners' do not. */
async function loadOrCreateSecret(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    if (b.length !== 32) throw new P2PBackupError('ERR_CONFIG', `${path} must hold 32 bytes (found ${b.length}); restore it from a backup or remove it to start a new one`);
    return b;
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw err;
    const secret = randomBytes(32);
    await writeFile(path, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

export async function createPeer(init: PeerInit): Promise<Peer> {
  const { home, config } = init;
  const paths = homePaths(home);
  const privateKey = await loadOrCreatePeerKey(home);
  const secret = await loadOrCreateSecret(paths.convergence);
  const swarmKey = await readFile(paths.swarmKey, 'utf8').catch((err) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  const readOnly = init.readOnly === true;
  // A read-only light node offers nothing: its (empty) store is never served.
  const offer = readOnly ? 0 : config.offer;
  const fairness = await createFairness({ settings: config.fairness, ledgerPath: join(home, LEDGER_DIR) });
  let store: DiskStore;
  try {
    store = await DiskStore.open(paths.store, { offer, policy: fairness.policy });
  } catch (err) {
    await fairness.close();
    throw err;
  }
  fairness.attachStore(store);
  let node: P2PNode;
  // Holders advertise the storage indexes they accept (provider records) through one queue: each
  // index once, one DHT announce at a time and at most one per PROVIDE_INTERVAL_MS, at most
  // PROVIDE_QUEUE_MAX waiting. Measured: announcing every share at once made a backup of many small
  // files spend most of every peer's CPU in DHT walks; downloads find holders by the closest-peer walk
  // first, provider records are the fallback, so only holders outside the closest set announce
  // (shouldAnnounce; measured: 20 peers backing up /usr/share 93 s -> 22 s, peers' CPU 157 -> 20 s).
  const provideQueue = new Set<string>();
  let providing = false;
  const announce = (siHex: string) => {
    if (provideQueue.size >= PROVIDE_QUEUE_MAX) return;
    if (!shouldAnnounce(Buffer.from(siHex, 'hex'), node.peerId, node.libp2p.getPeers(), ANNOUNCE_UNLESS_CLOSEST)) return;
    provideQueue.add(siHex);
    if (providing) return;
    providing = true;
    void (async () => {
      while (provideQueue.size) {
        const next = provideQueue.values().next().value as string;
        provideQueue.delete(next);
        await node.provide(Buffer.from(next, 'hex'), { timeoutMs: 10_000 }).catch(() => false);
        await sleep(PROVIDE_INTERVAL_MS); // a steady trickle, whatever the rate of incoming shares
      }
      providing = false;
    })();
  };
  try {
    node = await createNode({
      // A peer offering no disk (a client) does not serve the storage protocol at all.
      privateKey, listen: config.listen, announce: config.announce, bootstrap: config.bootstrap, relay: config.relay, upnp: config.upnp, mdns: config.mdns, swarmKey, store: offer > 0 ? store : undefined,
      // A holder advertises each storage index it accepted (provider records), so downloaders find it
      // beyond the closest-peer walk. Best effort: small swarms often cannot hold provider records.
      server: { onEvent: (e) => { if (e.ok && e.op === 'write' && e.si) announce(e.si); } }
    });
  } catch (err) {
    await store.close();
    await fairness.close();
    throw err;
  }
  const self = node.peerId.toString();
  // Uptime seen, for the ledger.
  node.libp2p.addEventListener('peer:connect', (e) => fairness.ledger.peerConnected(e.detail.toString()));
  node.libp2p.addEventListener('peer:disconnect', (e) => { void fairness.ledger.peerDisconnected(e.detail.toString()).catch(() => {}); });
  let dhtSeen: { at: number; ids: Map<string, PeerId> } = { at: 0, ids: new Map() };
  // Peers that failed SLOWLY (a dial or a stream that timed out) are left out of candidate lists for
  // DOWN_BACKOFF_MS: a host that vanished silently would otherwise cost every LIST of every file a full
  // timeout (measured: 2.5 s per check across network namespaces). Fast failures (connection refused:
  // the process is gone, it may be back in a moment) cost nothing and are not remembered.
  const down = new Map<string, number>();
  const watch = <T>(id: string, p: Promise<T>): Promise<T> => {
    const started = Date.now();
    return p.then((v) => { down.delete(id); return v; }, (err) => {
      const slow = Date.now() - started >= SLOW_FAILURE_MS;
      if (slow && (err?.code === 'ERR_PEER_UNREACHABLE' || err?.code === 'ERR_STREAM_TIMEOUT')) down.set(id, Date.now());
      throw err;
    });
  };
  const server = (id: string): ShareServer => {
    const c = node.storage(peerIdFromString(id));
    return {
      id,
      canAccept: (si, shareNum, size, o) => watch(id, c.canAccept(si, shareNum, size, o)),
      // Fairness: no new shares for a peer in failed standing. Credit comes later, from the client (onPlaced):
      // an `exists` answer earns none until the peer proved it holds the share.
      writeShare: async (si, shareNum, source, size, o) => {
        fairness.guardPlacement(id);
        return watch(id, c.writeShare(si, shareNum, source, size, o));
      },
      list: (si, o) => watch(id, c.list(si, o)),
      read: (si, shareNum, ranges, o) => watch(id, c.read(si, shareNum, ranges, o)),
      putSlot: (si, record, o) => watch(id, c.putSlot(si, record, o)),
      getSlot: (si, o) => watch(id, c.getSlot(si, o)),
      renew: (si, shareNums, until, o) => watch(id, c.renew(si, shareNums, until, o)),
      delete: (si, shareNum, o) => watch(id, c.delete(si, shareNum, o)),
      audit: (si, shareNum, segment, nonce, o) => watch(id, c.audit(si, shareNum, segment, nonce, o))
    };
  };
  const finder: ServerFinder = {
    // Candidates are ranked by XOR distance among the peers we know: the connected ones plus those a DHT
    // walk found. The walk runs at most every DHT_REFRESH_MS (not per file: a folder of 10,000 small
    // files must not cost 10,000 walks); in swarms of dozens of peers it finds them all anyway.
    async candidates(si, count, o) {
      if (Date.now() - dhtSeen.at > DHT_REFRESH_MS || (dhtSeen.ids.size === 0 && node.libp2p.getPeers().length === 0)) {
        const found = await node.closestPeers(si, count, o);
        dhtSeen = { at: Date.now(), ids: new Map(found.map((p) => [p.toString(), p])) };
      }
      const pool = new Map(dhtSeen.ids);
      for (const p of node.libp2p.getPeers()) pool.set(p.toString(), p);
      // Even a peer libp2p still counts as connected: a silently cut host keeps its dead connection
      // until keep-alive notices, while every request to it waits for a timeout.
      const now = Date.now();
      for (const [id, at] of down) if (now - at >= DOWN_BACKOFF_MS) down.delete(id);
      pool.delete(self);
      // ... unless every peer we know failed slowly: on an overloaded host (measured: 50 daemons on 2 cores)
      // every request can time out once, and slow peers are better than "no storage peers found".
      if ([...pool.keys()].some((id) => !down.has(id))) for (const id of down.keys()) pool.delete(id);
      // Peers known (through identify) not to serve storage, such as clients offering no disk, are skipped.
      const serves = await Promise.all([...pool.values()].map(async (p) => {
        const protocols = await node.libp2p.peerStore.get(p).then((x) => x.protocols, (): string[] => []);
        return protocols.length === 0 || protocols.includes(STORAGE_PROTOCOL) ? p : null;
      }));
      // Fairness reorders within the closest set (balanced, reliable peers first) but never changes the set,
      // so downloads, which ask the same closest set, still find every share (src/fairness/rank.ts).
      return fairness.rank(rankByDistance(si, serves.filter((p): p is PeerId => p !== null)).slice(0, count).map((p) => server(p.toString())));
    },
    // Last resort of locate(): every storage peer we know, nearest first (a holder that did not announce
    // because it was among the closest when it took the share, and the swarm has grown since).
    async known(si, o) {
      return finder.candidates(si, KNOWN_LIST_MAX, o);
    },
    async providers(si, o) {
      const ids = await node.findProviders(si, { signal: o?.signal, timeoutMs: 2_000 });
      return ids.map((p) => p.toString()).filter((id) => id !== self).map(server);
    },
    // The fairness ledger's two inputs from the client: shares held (written, or claimed and proven) and audits.
    async onPlaced(p) {
      await fairness.recordPlacement(p.peer, p.si, p.shareNum, p.size, p.verifyCap).catch((err) => init.log?.warn({ err: (err as Error).message }, 'fairness ledger write failed'));
    },
    async onAudit(a) {
      await fairness.recordShareAudit(a.peer, a.si, a.shareNum, a.ok, a.reason).catch((err) => init.log?.warn({ err: (err as Error).message }, 'fairness ledger write failed'));
    },
    // A holder abandoned as too slow (hedged reads) is left out of candidate lists like one that timed out.
    demote(id) {
      down.set(id, Date.now());
    }
  };

  // The event bus: sync-state changes, backup/restore progress and peer (dis)connections, for the API's
  // event stream. Listeners must not throw; a slow one only delays its own queue (SSE writes are async).
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const emit = (e: ProgressEvent) => bus.emit('event', e);
  node.libp2p.addEventListener('peer:connect', (ev) => emit({ type: 'peer:connect', peer: ev.detail.toString() }));
  node.libp2p.addEventListener('peer:disconnect', (ev) => emit({ type: 'peer:disconnect', peer: ev.detail.toString() }));
  const transfers = { uploads: 0, downloads: 0 };
  const onTransfer = (kind: 'upload' | 'download') => { if (kind === 'upload') transfers.uploads++; else transfers.downloads++; };

  let folders: FolderService | null = null;
  let services = false;
  let recoveryTimer: NodeJS.Timeout | null = null;
  let spotTimer: NodeJS.Timeout | null = null;
  const spotChecks = new AbortController();
  const checkFairness = (): Promise<SpotCheckResult[]> => fairness.checkAll((id) => server(id), spotChecks.signal);
  // The recovery record follows the folder list; publishing retries until enough peers hold it.
  const scheduleRecovery = (delay = 1_000) => {
    if (!services) return;
    if (recoveryTimer) clearTimeout(recoveryTimer);
    recoveryTimer = setTimeout(async () => {
      recoveryTimer = null;
      const cap = await readRecoveryCap(home);
      if (!cap || !folders) return;
      try {
        await publishRecovery(finder, cap, await buildRecoveryPayload(home, config, await folders.listFolders()));
        init.log?.info('recovery record published');
      } catch (err) {
        init.log?.warn({ err: (err as Error).message }, 'recovery record not published yet; will retry');
        scheduleRecovery(RECOVERY_RETRY_MS);
      }
    }, delay);
    recoveryTimer.unref();
  };
  if (init.folders !== false) {
    try {
      folders = await createFolderService({
        home, finder, encoding: config.encoding, convergenceSecret: secret,
        onFoldersChanged: () => scheduleRecovery(),
        onEvent: (e) => emit(e as ProgressEvent),
        onTransfer
      });
    } catch (err) {
      await node.stop();
      await store.close();
      throw err;
    }
  }

  const tmpDir = join(home, 'tmp');
  const peer: Peer = {
    peerId: self,
    node,
    store,
    finder,
    folders,
    fairness,
    health: null,
    readOnly,
    apiUrl: '',

    subscribe(fn) {
      bus.on('event', fn);
      return () => { bus.off('event', fn); };
    },
    transfers: () => ({ ...transfers }),

    async startServices() {
      // A light node holds no write caps in use: no watching, no recovery record.
      if (readOnly) return;
      services = true;
      await folders?.start();
      scheduleRecovery(2_000);
      spotTimer = setInterval(() => {
        void checkFairness().then((rs) => {
          for (const r of rs) if (r.ok === false) init.log?.warn({ peer: r.peer, missing: r.missing.length, checked: r.checked }, 'fairness: spot check failed');
        }, () => {});
      }, SPOT_CHECK_INTERVAL_MS);
      spotTimer.unref();
      const ledger = await AuditLedger.open(join(home, 'audits'));
      // One audit, two books: the health ledger (availability, repairs) and the fairness ledger
      // (a peer that fails loses its allowance and its place in our placement order).
      const recordHealth = ledger.recordAudit.bind(ledger);
      ledger.recordAudit = async (p, ok, reason, share) => {
        const r = await recordHealth(p, ok, reason);
        const done = share ? fairness.recordShareAudit(p, share.siHex, share.shareNum, ok, reason) : fairness.ledger.recordAudit(p, ok, reason);
        await done.catch((err) => init.log?.warn({ err: (err as Error).message }, 'fairness ledger write failed'));
        return r;
      };
      peer.health = createHealthService({
        config: config.health, encoding: config.encoding, finder, store, folders, ledger, log: init.log,
        connected: () => node.libp2p.getPeers().map((p) => p.toString())
      });
      peer.health.start();
    },

    async check(cap: string, o: CheckRequest) {
      const onProgress = o.onProgress as ((e: unknown) => void) | undefined;
      if (o.deep) {
        if (!folders) throw new P2PBackupError('ERR_UNSUPPORTED', 'this peer runs without folders: --deep needs them');
        const repairs: RepairReport[] = [];
        const r = await checkDeep(cap, finder, {
          store: folders.store, verify: o.verify, signal: o.signal, onProgress,
          snapshotsOf: async (root) => (await folders!.snapshots(root)).snapshots.map((s) => s.cap),
          onFile: async (f) => { if (o.repair && !f.healthy && f.recoverable && f.verifyCap) repairs.push(await repairFile(f.cap, finder, { signal: o.signal, onProgress })); }
        });
        if (o.repair) {
          const after = new Map(repairs.map((x) => [x.cap, x.after] as [string, FileCheckReport]));
          r.files = r.files.map((f) => after.get(f.cap) ?? f);
          r.healthy = r.files.filter((f) => f.healthy).length;
          r.unhealthy = r.files.length - r.healthy;
        }
        return { ...r, ...(o.repair ? { repairs: repairs.map((x) => ({ cap: x.cap, missing: x.missing, placed: x.placed, deleted: x.deleted, failures: x.failures, repaired: x.repaired })) } : {}) };
      }
      if (o.repair) {
        const r = await repairFile(cap, finder, { signal: o.signal, onProgress });
        return { ...r, recoverable: r.after.recoverable };
      }
      return checkFile(cap, finder, { verify: o.verify, signal: o.signal, onProgress }) as Promise<FileCheckReport & { [key: string]: unknown }>;
    },

    healthState: () => peer.health?.state() ?? null,
    auditStats: async () => (peer.health ? peer.health.ledger.auditStats() : null),
    addresses: () => node.multiaddrs().map((a) => a.toString()),

    async status(): Promise<StatusReport> {
      const s = store.stats();
      return {
        peerId: self,
        home,
        addresses: peer.addresses(),
        peersConnected: node.libp2p.getPeers().length,
        storage: { offered: s.offered, used: s.used, shares: s.shares },
        api: { url: peer.apiUrl },
        encoding: config.encoding,
        privateSwarm: swarmKey !== undefined,
        readOnly,
        folders: readOnly ? [] : (await folders?.listFolders() ?? []).map((f) => ({
          path: f.path, state: f.state, watch: f.watch, lastSnapshot: f.lastSnapshot ?? null, pending: f.pending, lastError: f.lastError ?? null
        })),
        fairness: summarize(fairness.report(self)),
        ...(peer.health ? { health: healthSummary(peer.health) } : {})
      };
    },

    async fairnessReport(): Promise<FairnessReport> {
      return fairness.report(self);
    },

    checkFairness,

    async ping(address: string) {
      let ma;
      try {
        ma = multiaddr(address);
      } catch (err) {
        throw new P2PBackupError('ERR_BAD_REQUEST', `not a multiaddr: ${address} (${(err as Error).message})`);
      }
      const signal = AbortSignal.timeout(15_000);
      try {
        const conn = await node.libp2p.dial(ma, { signal });
        const ms = await node.libp2p.services.ping.ping(ma, { signal });
        return { ms, relayed: conn.limits != null || conn.remoteAddr.toString().includes('/p2p-circuit'), remoteAddr: conn.remoteAddr.toString() };
      } catch (err) {
        throw new P2PBackupError('ERR_UNREACHABLE', `cannot reach ${address}: ${(err as Error).message}`, { address });
      }
    },

    async peers(): Promise<PeerInfo[]> {
      return node.libp2p.getPeers().map((id) => ({
        id: id.toString(),
        addresses: node.libp2p.getConnections(id).map((c) => c.remoteAddr.toString())
      }));
    },

    async putFile(input, o: PutOptions): Promise<PutResult> {
      const enc = { k: o.k ?? config.encoding.k, n: o.n ?? config.encoding.n, happy: o.happy ?? config.encoding.happy };
      if (o.n !== undefined && o.happy === undefined) enc.happy = Math.min(enc.happy, enc.n);
      if (o.k !== undefined && o.happy === undefined) enc.happy = Math.max(enc.happy, enc.k);
      validateEncoding(enc, 'put');
      let path: string;
      let spooled = false;
      if ('path' in input) {
        path = input.path;
        const st = await stat(path).catch(() => null);
        if (!st?.isFile()) throw new P2PBackupError('ERR_BAD_REQUEST', `not a readable file: ${path}`);
      } else {
        // A streamed body is spooled so the convergent key's hashing pass can read it twice.
        await mkdir(tmpDir, { recursive: true, mode: 0o700 });
        path = join(tmpDir, `upload-${randomBytes(8).toString('hex')}`);
        spooled = true;
        await pipeline(Readable.from(input.stream), createWriteStream(path, { mode: 0o600 }), { signal: o.signal });
      }
      try {
        const r = await upload(await fileInput(path), finder, {
          ...enc,
          convergenceSecret: secret,
          signal: o.signal,
          onProgress: o.onProgress
        });
        transfers.uploads++;
        init.log?.info({ si: r.storageIndex, size: r.size, happiness: r.happiness }, 'put');
        return r;
      } finally {
        if (spooled) await rm(path, { force: true });
      }
    },

    async getFile(cap, o) {
      const { size, stream } = await download(cap, finder, { signal: o.signal });
      transfers.downloads++;
      return { size, stream: Readable.from(stream) };
    },

    async stop() {
      services = false;
      const h = peer.health;
      peer.health = null;
      await h?.stop();
      await h?.ledger.close();
      if (recoveryTimer) clearTimeout(recoveryTimer);
      if (spotTimer) clearInterval(spotTimer);
      spotChecks.abort();
      await folders?.stop();
      await node.stop();
      await store.close();
      await fairness.close();
    }
  };
  return peer;
}

/** The status line's fairness summary. */
function summarize(r: FairnessReport) {
  return {
    enabled: r.settings.enabled,
    offered: r.offer.offered,
    usedByOthers: r.offer.usedByOthers,
    placedOnOthers: r.use.placed,
    peers: r.peers.length,
    failedAudits: r.peers.filter((p) => p.standing === 'failed').length
  };
}

function healthSummary(h: HealthService): NonNullable<StatusReport['health']> {
  const s = h.state();
  return {
    lastRun: s.lastRun?.finishedAt ?? null, filesTracked: s.tracked, repaired: s.totals.repaired, durability: s.durability,
    snapshots: s.snapshots.map((x) => ({ folder: x.folder, cap: x.cap, durability: x.durability }))
  };
}
