// What the API needs from a running peer, declared here by the API (its consumer), method by method: the
// daemon's peer (src/peer/) implements it, a stub implements it in the route tests. Every method is
// required; a peer that lacks a part says so at run time (null, or UnsupportedError), not by omission.
// Types of data the API only passes through come from the layers that define them (backup, fairness).
import type { Readable } from 'node:stream';
import type {
  BackupProgress,
  DiffResult,
  DirEntry,
  ForgetDecision,
  ForgetPolicy,
  HeadSnapshot,
  OverwriteMode,
  RestoreStats,
  Snapshot
} from '../backup/index.ts';
import type { FolderRecord } from '../backup/journal.ts';
import type { PruneReport } from '../repo/index.ts';
import type { FairnessReport, SpotCheckResult } from '../fairness/index.ts';

export interface ProgressEvent {
  type: string;
  [key: string]: unknown;
}

export interface PutOptions {
  k?: number;
  n?: number;
  happy?: number;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export interface PutResult {
  /** The file's cap (`p2pb:blob:…`, or `p2pb:lit:…` for tiny content): it grants reading this file only. */
  cap: string;
  size: number;
  /** Chunks and lists the repository did not hold yet, what they took sealed, and the packs written. */
  blobsNew: number;
  bytesStored: number;
  packs: number;
  /** The first pack written for the content (its cap and storage index; null when nothing new was stored). */
  pack: string | null;
  storageIndex: string | null;
  /** shareNum -> peers holding it, for that first pack (a file under 512 KiB is one chunk: one pack). */
  placements: Record<string, string[]>;
  /** Distinct peers holding shares of that first pack (servers-of-happiness; 0 when nothing new was stored). */
  happiness: number;
  /** Every pack written for the content (a larger file may also have a chunk list in a metadata pack). */
  packCaps: string[];
  /** How each holder in `placements` was reached: `direct` (we dialled it), `own-connection` (over the
   *  connection it opened to us: a peer behind NAT), `relay` (a circuit through the relay named). */
  paths: Record<string, { path: ReachPath; relay: string | null }>;
}

/** A path storage traffic takes to a peer (src/net/paths.ts). */
export type ReachPath = 'direct' | 'own-connection' | 'relay';

export interface PeerInfo {
  id: string;
  addresses: string[];
  latencyMs?: number;
  /** How storage traffic reaches this peer now (its best open connection); null: only a limited one. */
  reach: ReachPath | null;
  /** The relay's peer id when `reach` is `relay`, else null. */
  relay: string | null;
}

/** How others reach this peer (src/net/reachability.ts; `status`, GET /api/status `reachability`). */
export interface ReachabilityInfo {
  /** Best first: public (dialled at an IPv4 address of its own), upnp (at a mapping the router made),
   *  ipv6, own-connections (only over connections it keeps open), relay (through the relays below). */
  ways: ('public' | 'upnp' | 'ipv6' | 'own-connections' | 'relay')[];
  summary: string;
  /** Some address was dialled back by a peer; null before any answer. */
  dialable: boolean | null;
  checkedAt: number | null;
  confirmed: { address: string; kind: 'public' | 'upnp' | 'ipv6'; by: string[] }[];
  unconfirmed: string[];
  relays: { peer: string; expiresAt: number }[];
  ownConnections: { kept: number; target: number };
  /** The relay this peer serves (`--relay-server`), null if none. */
  relayServer: {
    reservations: number;
    circuits: number;
    bytesRelayed: number;
    overBudget: number;
    throttled: number;
    rate: number;
    dailyBytes: number;
    members: { peer: string; bytes: number }[];
  } | null;
}

export interface StatusReport {
  peerId: string;
  home: string;
  addresses: string[];
  peersConnected: number;
  storage: { offered: number; used: number; shares: number };
  api: { url: string };
  encoding: { k: number; n: number; happy: number };
  privateSwarm: boolean;
  /** A read-only light node: no storage offered, no folders, writes refused. */
  readOnly: boolean;
  /** Each folder: its state, last snapshot and changes seen since. */
  folders: { path: string; state: string; watch: boolean; lastSnapshot: { cap: string; time: number } | null; pending: number; lastError: string | null }[];
  /** Fair sharing at a glance (GET /api/fairness has the per-peer balances). */
  fairness?: { enabled: boolean; offered: number; usedByOthers: number; placedOnOthers: number; peers: number; failedAudits: number };
  /** How others reach this peer (null on a peer that does not check). */
  reachability: ReachabilityInfo | null;
  /** The health loop's summary (absent on peers that do not run it). */
  health?: {
    lastRun: number | null;
    filesTracked: number;
    repaired: number;
    durability: number | null;
    snapshots: { folder: string; cap: string; durability: number | null }[];
  };
}

export interface CheckRequest {
  deep?: boolean;
  verify?: boolean;
  repair?: boolean;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

/** How far a long operation has come: counts done and their totals when known, the rate and an ETA. */
export interface OperationProgress {
  files?: number;
  totalFiles?: number;
  bytes?: number;
  totalBytes?: number;
  bytesPerSecond?: number;
  etaSeconds?: number;
  /** What it is doing now, in a few words (a repair: "placing share 3"). */
  phase?: string;
}

/**
 * A long operation the daemon is running or ran lately (backup, restore, check, repair), wherever it was
 * started: through the API, by the sync engine, by the health loop. The daemon is the source of truth: a
 * page reloaded in the middle finds it here (GET /api/operations) and follows it on the event stream
 * (`operation:start`, `operation:progress`, `operation:end`, each carrying the operation).
 */
export interface OperationInfo {
  id: string;
  kind: 'backup' | 'restore' | 'check' | 'repair';
  /** Who started it: an API caller, the sync engine (a watched folder or "back up now"), the health loop. */
  origin: 'api' | 'sync' | 'health';
  /** For people: "Restore of /home/me/docs into /tmp/r". */
  title: string;
  /** The folder it concerns, when it concerns one. */
  folder?: string;
  startedAt: number;
  finishedAt?: number;
  state: 'running' | 'done' | 'failed' | 'cancelled';
  progress: OperationProgress | null;
  /** The error it ended with (failed), or why it stopped (cancelled). */
  error?: { code: string; message: string };
}

/** Storage peers connected now, as asked over the storage protocol (HELLO) and ping; with the swarm's totals. */
export interface SwarmOverview {
  /** ms since epoch when the peers were asked (answers are kept a few seconds). */
  at: number;
  peers: { id: string; latencyMs: number | null; offered: number | null; used: number | null; free: number | null; shares: number | null; error?: string }[];
  /** Summed over the peers that answered, plus this one. */
  totals: { peers: number; answered: number; offered: number; used: number; free: number };
}

/** A check's report: always says whether the cap can be read back; the rest depends on the kind of check. */
export interface CheckReport {
  recoverable: boolean;
  [key: string]: unknown;
}

/** Folders, snapshots and restores as the API uses them (the routes under /api/folders, /api/snapshots, …). */
export interface FolderService {
  listFolders(): Promise<FolderRecord[]>;
  addFolder(path: string, o: { watch: boolean; excludes?: string[] }): Promise<FolderRecord>;
  /** By id or path; NotFoundError when no such folder. */
  removeFolder(idOrPath: string): Promise<FolderRecord>;
  /** One backup now (the folder is registered unwatched if new); resolves with the folder once its head moved. */
  backupNow(
    path: string,
    o: { excludes?: string[]; excludeIfPresent?: string[]; onProgress?: (e: BackupProgress) => void; signal?: AbortSignal }
  ): Promise<FolderRecord>;
  /** A folder's snapshots, oldest first, by root cap, folder path or id; with `details`, each snapshot object's
   *  stats and host too (read from the swarm, the latest SNAPSHOT_DETAILS_MAX only; `error` when one cannot be read). */
  snapshots(what: string, o?: { details?: boolean; signal?: AbortSignal }): Promise<{ rootCap: string; seq: number; snapshots: SnapshotListing[] }>;
  ls(cap: string, path?: string): Promise<DirEntry[]>;
  diff(a: string, b: string): Promise<DiffResult>;
  /** `limitBytesPerSecond`: restore no faster than this (bytes of content fetched), so a restore leaves room on the link. */
  restore(
    cap: string,
    target: string,
    o: {
      path?: string;
      overwrite?: OverwriteMode;
      preserveSpecial?: boolean;
      ignoreUmask?: boolean;
      limitBytesPerSecond?: number;
      signal?: AbortSignal;
      onProgress?: (e: BackupProgress) => void;
    }
  ): Promise<{ snapshotCap: string; stats: RestoreStats }>;
  /** Apply a retention policy to a folder's head; with `prune`, then free what no kept snapshot needs. */
  forget(idOrPath: string, policy: ForgetPolicy, o?: { prune?: boolean; signal?: AbortSignal }): Promise<ForgetDecision & { prune?: PruneReport }>;
  /** Free what no kept snapshot of the owner's folders needs (rewrite sparse packs, delete dead ones). */
  prune(o?: { dryRun?: boolean; signal?: AbortSignal }): Promise<PruneReport>;
  /** The entry of one regular file of a snapshot (NotAFileError for anything else). */
  fileAt(cap: string, path: string): Promise<DirEntry>;
  /** A file's content, verified (a tree entry, or a file cap alone). */
  openFile(entry: { cap: string; size?: number }, o?: { signal?: AbortSignal }): Promise<{ size: number; stream: AsyncIterable<Uint8Array> }>;
}

/** One snapshot of a folder head; `stats`, `host` and `label` only when details were asked for. */
export interface SnapshotListing extends HeadSnapshot {
  stats?: Snapshot['stats'];
  host?: string;
  label?: string;
  /** The snapshot object could not be read (details asked for). */
  error?: string;
}

export interface PeerService {
  /** Folders, snapshots and restores (null on a peer opened without them). */
  readonly folders: FolderService | null;
  /** A read-only light node: the API refuses every route that writes (ERR_READ_ONLY). */
  readonly readOnly: boolean;
  /** Listen to the peer's events (sync state, progress, peers); returns the unsubscribe function. */
  subscribe(fn: (e: ProgressEvent) => void): () => void;
  /** Files put and fetched since start (metrics). */
  transfers(): { uploads: number; downloads: number };
  /** Files the health loop has yet to check (and repair if needed) in its current pass; 0 when it does not run (metrics). */
  repairQueue(): number;
  status(): Promise<StatusReport>;
  peers(): Promise<PeerInfo[]>;
  /** Dial and ping a peer by multiaddr: round trip and whether the connection goes through a relay. */
  ping(address: string): Promise<{ ms: number; relayed: boolean; remoteAddr: string }>;
  putFile(input: { path: string } | { stream: AsyncIterable<Uint8Array> }, opts: PutOptions): Promise<PutResult>;
  getFile(cap: string, opts: { signal?: AbortSignal }): Promise<{ size: number; stream: Readable }>;
  /** What I offer, what I use, per-peer balances. */
  fairnessReport(): Promise<FairnessReport>;
  /** Spot-check now what I placed on others (a proof of each sampled share: trailer + challenged block); results go to the ledger. */
  checkFairness(): Promise<SpotCheckResult[]>;
  /** Check (and optionally verify, repair, walk) a cap; UnsupportedError for a deep check on a peer without folders. */
  check(cap: string, opts: CheckRequest): Promise<CheckReport>;
  /** The health loop's state (GET /api/health/state), null when it does not run. */
  healthState(): unknown;
  /** Per-peer audit results and availability (the audit ledger), null when the health loop does not run. */
  auditStats(): Promise<unknown>;
  /** Long operations running now, then the latest finished ones (newest first). */
  operations(): OperationInfo[];
  /** Cancel a running operation (its AbortSignal fires); NotFoundError for an unknown id. A finished one is answered as it is. */
  cancelOperation(id: string): OperationInfo;
  /** The connected storage peers' space and latency, and the swarm's totals. */
  swarm(): Promise<SwarmOverview>;
}
