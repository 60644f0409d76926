// What the API needs from a running peer: the narrow interface the daemon implements.
import type { Readable } from 'node:stream';
import type { FolderService } from '../peer/folders.ts';

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
}

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
  putFile(input: { path: string } | { stream: AsyncIterable<Uint8Array> }, opts: PutOptions): Promise<PutResult>;
  getFile(cap: string, opts: { signal?: AbortSignal }): Promise<{ size: number; stream: Readable }>;
}
