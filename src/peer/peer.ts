// One running peer: the libp2p node serving this home's share store, and the client that puts and gets
// files through the swarm. createPeer composes named parts, each in its own module:
//   secret.ts   the convergence secret        announce.ts  provider records for shares taken
//   finder.ts   how the client reaches peers (backoff and fairness as ShareServer wrappers)
//   folders.ts  folders, snapshots, restores  recovery-record.ts  the recovery record, kept published
//   files.ts    single files put and fetched  check.ts     check / verify / repair, deep walks
//   health.ts   the health loop               status.ts    the status report     ping.ts  reachability
//   operations.ts  long operations by id (list, follow, cancel)   swarm-view.ts  peers' space and latency
// It implements the API's PeerService (src/api/service.ts); the daemon (src/daemon/) serves it over HTTP,
// tests run it in-process.
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { openStore, type LocalStore } from '../store/index.ts';
import { createNode, loadOrCreatePeerKey, type P2PNode } from '../net/index.ts';
import { AuditLedger, type ServerFinder } from '../client/index.ts';
import type { PeerService, ProgressEvent } from '../api/service.ts';
import { createFairness, SPOT_CHECK_INTERVAL_MS, type Fairness, type SpotCheckResult } from '../fairness/index.ts';
import { createHealthService, type HealthService } from './health.ts';
import type { PeerConfig } from './config.ts';
import { homePaths } from './home.ts';
import { createFolderService, type FolderService } from './folders.ts';
import { createRecoveryPublisher } from './recovery-record.ts';
import { loadOrCreateSecret } from './secret.ts';
import { createAnnouncer } from './announce.ts';
import { createFinder } from './finder.ts';
import { createFiles } from './files.ts';
import { checkCap } from './check.ts';
import { ping } from './ping.ts';
import { statusReport } from './status.ts';
import { createOperations } from './operations.ts';
import { createSwarmView } from './swarm-view.ts';

const RECOVERY_FIRST_PUBLISH_MS = 2_000; // let the node find its peers before the first publish

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
  readonly store: LocalStore;
  /** Storage peers for a storage index, as the client sees them (for publishRecord / fetchRecord and tests). */
  readonly finder: ServerFinder;
  readonly folders: FolderService | null;
  /** Ledger, admission policy and placement preference (src/fairness/). */
  readonly fairness: Fairness;
  /** The health loop (started by startServices), null before. */
  health: HealthService | null;
  apiUrl: string;
  addresses(): string[];
  /** Start the long-running services (sync engine, recovery record, spot checks, health loop): the daemon calls this. */
  startServices(): Promise<void>;
  stop(): Promise<void>;
}

export async function createPeer(init: PeerInit): Promise<Peer> {
  const { home, config, log } = init;
  const paths = homePaths(home);
  const privateKey = await loadOrCreatePeerKey(paths.peerKey);
  const secret = await loadOrCreateSecret(paths.convergence);
  const swarmKey = await readFile(paths.swarmKey, 'utf8').catch((err) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  const readOnly = init.readOnly === true;
  // A read-only light node offers nothing: its (empty) store is never served.
  const offer = readOnly ? 0 : config.offer;
  const fairness = await createFairness({ settings: config.fairness, ledgerPath: paths.fairness });
  let store: LocalStore;
  try {
    store = await openStore(config.store, paths.store, { offer, policy: fairness.policy });
  } catch (err) {
    await fairness.close();
    throw err;
  }
  fairness.attachStore(store);
  const announcer = createAnnouncer();
  let node: P2PNode;
  try {
    node = await createNode({
      // A peer offering no disk (a client) does not serve the storage protocol at all.
      privateKey,
      listen: config.listen,
      announce: config.announce,
      bootstrap: config.bootstrap,
      upnp: config.upnp,
      mdns: config.mdns,
      lanOnly: config.lanOnly,
      swarmKey,
      store: offer > 0 ? store : undefined,
      relay: {
        server: config.relay.server && { rate: config.relay.rate, dailyBytes: config.relay.dailyBytes, maxReservations: config.relay.maxReservations },
        client: config.relay.client
      },
      reachability: {
        keep: config.keepConnections,
        onEvent: (e) => log?.info({ dialable: e.dialable, reachability: e.summary }, 'reachability')
      },
      server: {
        onEvent: (e) => {
          if (e.ok && e.op === 'write' && e.si) announcer.announce(e.si);
        }
      }
    });
  } catch (err) {
    await store.close();
    await fairness.close();
    throw err;
  }
  announcer.attach(node);
  const self = node.peerId.toString();
  // Uptime seen, for the ledger.
  node.libp2p.addEventListener('peer:connect', (e) => fairness.ledger.peerConnected(e.detail.toString()));
  node.libp2p.addEventListener('peer:disconnect', (e) => {
    void fairness.ledger.peerDisconnected(e.detail.toString()).catch(() => {});
  });
  const { finder, server } = createFinder({ node, fairness, log });

  // The event bus: sync-state changes, backup/restore progress and peer (dis)connections, for the API's
  // event stream. Listeners must not throw; a slow one only delays its own queue (SSE writes are async).
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  const emit = (e: ProgressEvent) => bus.emit('event', e);
  // The health loop (started later, by startServices) hears of peers coming and going: a folder whose holder
  // went away is "degraded" at once. (Peers connect before `peer` below exists: hence the late binding.)
  let healthOf = (): HealthService | null => null;
  node.libp2p.addEventListener('peer:connect', (ev) => {
    healthOf()?.peerEvent(ev.detail.toString(), true);
    emit({ type: 'peer:connect', peer: ev.detail.toString() });
  });
  node.libp2p.addEventListener('peer:disconnect', (ev) => {
    healthOf()?.peerEvent(ev.detail.toString(), false);
    emit({ type: 'peer:disconnect', peer: ev.detail.toString() });
  });
  // Backups, restores, checks and repairs by id: listed and cancellable, their progress on the bus.
  const operations = createOperations({ emit });
  const swarmView = createSwarmView({
    node,
    store: {
      stats: () => {
        const st = store.stats();
        return { offered: st.offered, used: st.used };
      }
    }
  });
  const transfers = { uploads: 0, downloads: 0 };
  const onTransfer = (kind: 'upload' | 'download') => {
    if (kind === 'upload') transfers.uploads++;
    else transfers.downloads++;
  };

  let folders: FolderService | null = null;
  // The recovery record follows the folder list (published once the services start).
  const recovery = createRecoveryPublisher({ home, config, finder, listFolders: () => folders!.listFolders(), log });
  if (init.folders !== false) {
    try {
      folders = await createFolderService({
        home,
        finder,
        encoding: config.encoding,
        convergenceSecret: secret,
        onFoldersChanged: () => recovery.schedule(),
        onEvent: (e) => {
          if (e.type === 'sync:folder:snapshot') healthOf()?.nudge();
          emit(e as ProgressEvent);
        },
        onTransfer,
        operations,
        leaseDays: config.health.leaseDays
      });
    } catch (err) {
      await node.stop();
      await store.close();
      throw err;
    }
  }

  let spotTimer: NodeJS.Timeout | null = null;
  const spotChecks = new AbortController();
  const checkFairness = (): Promise<SpotCheckResult[]> => fairness.checkAll(server, spotChecks.signal);
  const files = createFiles({ folders: () => folders, encoding: config.encoding, onTransfer, log, pathOf: (id) => node.paths.last(id) });

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
      return () => {
        bus.off('event', fn);
      };
    },
    transfers: () => ({ ...transfers }),
    repairQueue: () => peer.health?.state().queue ?? 0,

    async startServices() {
      // A light node holds no write caps in use: no watching, no recovery record.
      if (readOnly) return;
      await folders?.start();
      if (folders) recovery.start(RECOVERY_FIRST_PUBLISH_MS);
      spotTimer = setInterval(() => {
        void checkFairness().then(
          (rs) => {
            for (const r of rs) if (r.ok === false) log?.warn({ peer: r.peer, missing: r.missing.length, checked: r.checked }, 'fairness: spot check failed');
          },
          () => {}
        );
      }, SPOT_CHECK_INTERVAL_MS);
      spotTimer.unref();
      // One audit, two books: the health ledger (availability, repairs) and the fairness ledger
      // (a peer that fails loses its allowance and its place in our placement order).
      const ledger = await AuditLedger.open(paths.audits, {
        // One audit, two books: the health ledger (availability, repairs) and the fairness ledger (a failed
        // audit of a share drops that placement and its credit).
        onAudit: (p, ok, reason, share) =>
          (share ? fairness.recordShareAudit(p, share.siHex, share.shareNum, ok, reason) : fairness.ledger.recordAudit(p, ok, reason)).then(
            () => {},
            (err) => log?.warn({ err: (err as Error).message }, 'fairness ledger write failed')
          )
      });
      peer.health = createHealthService({
        config: config.health,
        encoding: config.encoding,
        finder,
        store,
        folders,
        ledger,
        log,
        operations,
        onEvent: emit,
        connected: () => node.libp2p.getPeers().map((p) => p.toString())
      });
      peer.health.start();
    },

    check: (cap, o) =>
      operations.run(
        {
          kind: o.repair ? 'repair' : 'check',
          origin: 'api',
          title: `${o.repair ? 'Repair' : o.verify ? 'Verification' : 'Check'} of ${cap.length > 48 ? `${cap.slice(0, 44)}…` : cap}${o.deep ? ' (deep)' : ''}`,
          signal: o.signal
        },
        (op) =>
          checkCap(cap, finder, folders, {
            ...o,
            signal: op.signal,
            onProgress: (e) => {
              if (e.type === 'client:check:file') op.progress({ files: Number(e.done), totalFiles: Number(e.total) });
              o.onProgress?.(e);
            }
          })
      ),
    operations: () => operations.list(),
    cancelOperation: (id) => operations.cancel(id),
    swarm: () => swarmView(),
    healthState: () => peer.health?.state() ?? null,
    auditStats: async () => (peer.health ? peer.health.ledger.auditStats() : null),
    addresses: () => node.multiaddrs().map((a) => a.toString()),

    async status() {
      return statusReport({
        peerId: self,
        home,
        addresses: peer.addresses(),
        peersConnected: node.libp2p.getPeers().length,
        storage: (({ offered, used, shares }) => ({ offered, used, shares }))(store.stats()),
        apiUrl: peer.apiUrl,
        encoding: config.encoding,
        privateSwarm: swarmKey !== undefined,
        readOnly,
        folders: readOnly ? [] : ((await folders?.listFolders()) ?? []),
        fairness: fairness.report(self),
        health: peer.health,
        reachability: node.reachability?.report() ?? null
      });
    },
    fairnessReport: async () => fairness.report(self),
    checkFairness,
    ping: (address) => ping(node, address),
    async peers() {
      return node.libp2p.getPeers().map((id) => {
        const path = node.paths.current(id.toString());
        return {
          id: id.toString(),
          addresses: node.libp2p.getConnections(id).map((c) => c.remoteAddr.toString()),
          // How storage traffic reaches it now: the best open connection (null: only a limited one).
          reach: path?.kind ?? null,
          relay: path?.relay ?? null
        };
      });
    },
    putFile: files.putFile,
    getFile: files.getFile,

    async stop() {
      // The sync engine stops its own backups (journaled as interrupted, resumed at the next start); the rest now.
      operations.cancelAll('the daemon is stopping', { except: 'sync' });
      recovery.stop();
      announcer.stop();
      const h = peer.health;
      peer.health = null;
      await h?.stop();
      await h?.ledger.close();
      if (spotTimer) clearInterval(spotTimer);
      spotChecks.abort();
      await folders?.stop();
      await node.stop();
      await store.close();
      await fairness.close();
    }
  };
  healthOf = () => peer.health;
  return peer;
}
