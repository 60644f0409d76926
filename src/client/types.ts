// What the client needs from the network, declared narrowly so a grid of local stores could stand in.
// The libp2p StorageClient satisfies ShareServer; the peer builds a ServerFinder from its node.

export type AcceptDecision = { ok: true } | { ok: false; reason: string; message: string };

export interface ShareServer {
  /** Peer id (string form). */
  readonly id: string;
  canAccept(si: Uint8Array, shareNum: number, size: number, opts?: { signal?: AbortSignal }): Promise<AcceptDecision>;
  /**
   * Upload a share of the pack whose UEB is `opts.ueb`: the server checks the bytes against it before committing.
   * The source's pieces are lent: read only until the returned promise settles (the uploader encodes the next
   * pack into the same memory), so a server that keeps them copies them.
   */
  writeShare(
    si: Uint8Array,
    shareNum: number,
    source: AsyncIterable<Uint8Array>,
    size: number,
    opts: { ueb: Uint8Array; signal?: AbortSignal }
  ): Promise<{ status: 'written' | 'exists' }>;
  list(si: Uint8Array, opts?: { signal?: AbortSignal }): Promise<{ shareNum: number; size: number }[]>;
  read(si: Uint8Array, shareNum: number, ranges: [number, number][], opts?: { signal?: AbortSignal; into?: Uint8Array }): Promise<Uint8Array[]>;
  /** Store a signed mutable-slot record; the server checks slot, signature and seq (refusals throw, reason e.g. `stale`). */
  putSlot(si: Uint8Array, record: Uint8Array, opts?: { signal?: AbortSignal; leaseUntil?: number }): Promise<{ status: 'stored' | 'unchanged'; seq: number }>;
  /** The record the server holds for a slot (unverified), or null. */
  getSlot(si: Uint8Array, opts?: { signal?: AbortSignal }): Promise<Uint8Array | null>;
  /** Extend the leases of *our* shares of `si` (the server knows us as their owner); how many were renewed. */
  renew?(si: Uint8Array, shareNums: number[] | 'all', until: number, opts?: { signal?: AbortSignal }): Promise<number>;
  /** Delete one of *our* shares (owner only: others' shares refuse with reason not-owner). */
  delete?(si: Uint8Array, shareNum: number, opts?: { signal?: AbortSignal }): Promise<void>;
  /** Challenge the holder to prove it has block `segment` of share `shareNum` (docs/HEALTH.md "Audits"). */
  audit?(
    si: Uint8Array,
    shareNum: number,
    segment: number,
    nonce: Uint8Array,
    opts?: { signal?: AbortSignal }
  ): Promise<{ block: Uint8Array; leaf: Uint8Array; path: Uint8Array[]; proof: Uint8Array }>;
}

/** A share of mine that `peer` now holds: written there by me, or claimed (`exists`) and proven by an audit. */
export interface PlacedShare {
  peer: string;
  si: Uint8Array;
  shareNum: number;
  size: number;
  /** The file's verify cap (text): what a later audit of this placement checks against. */
  verifyCap: string;
  how: 'written' | 'proven';
}

/** One audit of one (peer, share): a claim checked by an upload, or a proof asked later. */
export interface ShareAudit {
  peer: string;
  si: Uint8Array;
  shareNum: number;
  ok: boolean;
  reason?: string;
}

export interface ServerFinder {
  /**
   * Storage peers for a storage index, best first (DHT-closest), never including this peer. `refresh` asks
   * for a fresh look (a DHT walk now) instead of what was found lately, and for peers left out a while because
   * they failed lately.
   */
  candidates(si: Uint8Array, count: number, opts?: { signal?: AbortSignal; refresh?: boolean }): Promise<ShareServer[]>;
  /** Best-effort: tell the DHT that we placed shares for `si`. */
  announce?(si: Uint8Array): Promise<void>;
  /** Best-effort extra holders (provider records). */
  providers?(si: Uint8Array, opts?: { signal?: AbortSignal }): Promise<ShareServer[]>;
  /** Every storage peer known (bounded), for a last-resort LIST when the closest peers and providers fall short. */
  known?(si: Uint8Array, opts?: { signal?: AbortSignal }): Promise<ShareServer[]>;
  /** Best effort: a share of mine is held (fairness credit). Never called for an `exists` claim not proven. */
  onPlaced?(p: PlacedShare): void | Promise<void>;
  /** Best effort: a share of mine was deleted from `peer` (prune, repair): no more credit for it. */
  onDeleted?(d: { peer: string; si: Uint8Array; shareNum: number }): void | Promise<void>;
  /** Best effort: an audit's outcome (a failure drops that placement and counts against the peer). */
  onAudit?(a: ShareAudit): void | Promise<void>;
  /** Best effort: `peer` was abandoned as too slow (a hedged read): prefer others for a while. */
  demote?(peer: string): void;
}

export type ClientProgress =
  | { type: 'client:upload:hash'; bytes: number; total: number }
  | { type: 'client:upload:encode'; bytes: number; total: number }
  | { type: 'client:upload:share-placed'; shareNum: number; peer: string }
  | { type: 'client:upload:share-failed'; shareNum: number; peer: string; error: string }
  | { type: 'client:download:holders'; holders: number; shares: number }
  | { type: 'client:download:bytes'; bytes: number; total: number }
  | { type: 'client:check:file'; cap: string; found: number; hosts: number; recoverable: boolean; done: number; total: number }
  | { type: 'client:verify:share'; peer: string; shareNum: number; ok: boolean }
  | { type: 'client:repair:share-placed'; shareNum: number; peer: string }
  | { type: 'client:repair:share-failed'; shareNum: number; peer: string; error: string };
