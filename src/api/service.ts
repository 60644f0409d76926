// What the API needs from a running peer: the narrow interface the daemon implements.
import type { Readable } from 'node:stream';
import type { FolderService } from '../peer/folders.ts';
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
  cap: string;
  size: number;
  verifyCap: string | null;
  storageIndex: string | null;
  /** shareNum -> peer id */
  placements: Record<string, string[]>;
  happiness: number;
}

export interface PeerInfo {
  id: string;
  addresses: string[];
  latencyMs?: number;
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
  /** The health loop's summary (absent on peers that do not run it). */
  health?: { lastRun: number | null; filesTracked: number; repaired: number; durability: number | null; snapshots: { folder: string; cap: string; durability: number | null }[] };
}

export interface CheckRequest { deep?: boolean; verify?: boolean; repair?: boolean; signal?: AbortSignal; onProgress?: (event: ProgressEvent) => void }

export interface PeerService {
  /** Folders, snapshots and restores (null on a peer opened without them). */
  readonly folders: FolderService | null;
  /** A read-only light node: the API refuses every route that writes (ERR_READ_ONLY). */
  readonly readOnly?: boolean;
  /** Listen to the peer's events (sync state, progress, peers); returns the unsubscribe function. */
  subscribe?(fn: (e: ProgressEvent) => void): () => void;
  /** Files put and fetched since start, and shares waiting for repair (metrics). */
  transfers?(): { uploads: number; downloads: number };
  repairQueue?(): number;
  status(): Promise<StatusReport>;
  peers(): Promise<PeerInfo[]>;
  /** Dial and ping a peer by multiaddr: round trip and whether the connection goes through a relay. */
  ping(address: string): Promise<{ ms: number; relayed: boolean; remoteAddr: string }>;
  putFile(input: { path: string } | { stream: AsyncIterable<Uint8Array> }, opts: PutOptions): Promise<PutResult>;
  getFile(cap: string, opts: { signal?: AbortSignal }): Promise<{ size: number; stream: Readable }>;
  /** What I offer, what I use, per-peer balances (optional: a peer without the fairness layer answers 501). */
  fairnessReport?(): Promise<FairnessReport>;
  /** Spot-check now what I placed on others (a proof of each sampled share: trailer + challenged block); results go to the ledger. */
  checkFairness?(): Promise<SpotCheckResult[]>;
  /** Check (and optionally verify, repair, walk) a cap; resolves with a report carrying `recoverable`. */
  check?(cap: string, opts: CheckRequest): Promise<{ recoverable: boolean; [key: string]: unknown }>;
  /** The health loop's state (GET /api/health/state). */
  healthState?(): unknown;
  /** Per-peer audit results and availability (the audit ledger). */
  auditStats?(): Promise<unknown>;
}
