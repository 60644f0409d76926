// Mutable slots from the client's side: publish a signed, sequence-numbered record (a folder's head) to the
// peers closest to the slot's storage index, and fetch the newest valid one back.
// const { seq } = await publishRecord(finder, writeCap, payload);       // seq = highest seen + 1
// const r = await fetchRecord(finder, readCap); r?.payload               // highest valid seq wins
// Peers are untrusted: every record is verified against the cap (key, signature, slot) before use; bad ones
// are counted and ignored. Storage peers refuse stale or forged records themselves, too.
import { formatCap, openRecord, parseCap, signRecord, storageIndexOf, toReadCap, verifyRecord, InvalidCapError } from '../caps/index.ts';
import type { MutableReadCap, MutableWriteCap } from '../caps/index.ts';
import { SLOT_MAX_PAYLOAD_BYTES } from '../store/constants.ts';
import { forEachLimit, mapLimit } from '../common/pool.ts';
import { NoPeersError, NotEnoughReplicasError, RecordTooLargeError, StaleSeqError } from './errors.ts';
import { deadline } from './util.ts';
import type { ServerFinder, ShareServer } from './types.ts';

export const DEFAULT_REPLICAS = 5;
export const DEFAULT_MIN_REPLICAS = 3;
/** Per-peer deadline of one slot read or write (ms). */
export const SLOT_OP_TIMEOUT_MS = 5_000;
/** Peers asked at once. */
export const SLOT_PARALLELISM = 4;

export interface PublishOptions {
  /** Peers to store the record on (default 5). */
  replicas?: number;
  /** Fewer stored copies than this is a failure: NotEnoughReplicasError (default 3). */
  minReplicas?: number;
  /** Sequence number to sign; default highest seq found on the closest peers + 1 (1 for a new slot). */
  seq?: number;
  /** Lease expiry to ask the peers for (ms since epoch). */
  leaseUntil?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface PublishResult {
  seq: number;
  /** Peer ids that stored the record. */
  storedOn: string[];
  /** Peer id -> why it did not store it (refusal reason or error). */
  failures: Record<string, string>;
}

export interface FetchOptions {
  /** How many of the closest peers to ask (default 2 × DEFAULT_REPLICAS). */
  peers?: number;
  parallelism?: number;
  timeoutMs?: number;
  /** Write the newest record back to peers that returned an older one (default true, best effort). */
  repair?: boolean;
  signal?: AbortSignal;
}

export interface FetchResult {
  seq: number;
  payload: Uint8Array;
  /** Peers that returned the winning record. */
  holders: string[];
  /** Peers that returned a valid but older record. */
  stale: string[];
  /** Stale peers that accepted the newest record (repair). */
  repaired: string[];
  /** Records dropped as malformed, forged, of another slot or undecryptable. */
  bad: number;
  /** Peers that failed to answer. */
  unreachable: number;
  /** The winning record's bytes (verifiable by anyone with the verify cap). */
  record: Uint8Array;
}

function toCap<T extends 'mw' | 'mr'>(cap: MutableWriteCap | MutableReadCap | string, allowed: readonly T[], what: string): MutableWriteCap | MutableReadCap {
  const c = typeof cap === 'string' ? parseCap(cap) : cap;
  if (!(allowed as readonly string[]).includes(c.type)) {
    throw new InvalidCapError('ERR_CAP_WRONG_KIND', `${what} needs a ${allowed.join(' or ')} cap, got ${c.type}`, { type: c.type });
  }
  return c as MutableWriteCap | MutableReadCap;
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

type Answer =
  | { peer: ShareServer; kind: 'record'; record: Uint8Array; seq: number }
  | { peer: ShareServer; kind: 'none' }
  | { peer: ShareServer; kind: 'bad' }
  | { peer: ShareServer; kind: 'error'; error: string };

/** Ask every server for the slot's record; verify each against the cap. */
async function readAll(
  servers: ShareServer[],
  si: Uint8Array,
  cap: MutableWriteCap | MutableReadCap,
  o: { parallelism: number; timeoutMs: number; signal?: AbortSignal }
): Promise<Answer[]> {
  return mapLimit(servers, o.parallelism, async (peer): Promise<Answer> => {
    if (o.signal?.aborted) return { peer, kind: 'error', error: 'aborted' };
    let record: Uint8Array | null;
    try {
      record = await peer.getSlot(si, { signal: deadline(o.signal, o.timeoutMs) });
    } catch (e) {
      return { peer, kind: 'error', error: (e as Error).message };
    }
    if (!record) return { peer, kind: 'none' };
    try {
      return { peer, kind: 'record', record, seq: verifyRecord(cap, record).seq };
    } catch {
      return { peer, kind: 'bad' };
    }
  });
}

/**
 * Sign `payload` as the next record of the slot and store it on the `replicas` closest peers that accept it.
 * Succeeds when at least `minReplicas` stored it; otherwise NotEnoughReplicasError { stored, needed }.
 */
export async function publishRecord(
  finder: ServerFinder,
  writeCap: MutableWriteCap | string,
  payload: Uint8Array,
  opts: PublishOptions = {}
): Promise<PublishResult> {
  const cap = toCap(writeCap, ['mw'] as const, 'publishRecord') as MutableWriteCap;
  const replicas = opts.replicas ?? DEFAULT_REPLICAS;
  const minReplicas = opts.minReplicas ?? Math.min(DEFAULT_MIN_REPLICAS, replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || !Number.isInteger(minReplicas) || minReplicas < 1 || minReplicas > replicas) {
    throw new RangeError(`need 1 <= minReplicas <= replicas (got minReplicas=${minReplicas}, replicas=${replicas})`);
  }
  if (payload.byteLength > SLOT_MAX_PAYLOAD_BYTES) throw new RecordTooLargeError(payload.byteLength, SLOT_MAX_PAYLOAD_BYTES);
  const timeoutMs = opts.timeoutMs ?? SLOT_OP_TIMEOUT_MS;
  const si = storageIndexOf(cap)!;
  const candidates = await finder.candidates(si, 2 * replicas, { signal: opts.signal });
  if (candidates.length === 0) throw new NoPeersError();

  // Learn the highest seq the closest peers hold (and who answers at all).
  const answers = await readAll(candidates, si, cap, { parallelism: Math.max(SLOT_PARALLELISM, replicas), timeoutMs, signal: opts.signal });
  checkAborted(opts.signal);
  const seqs = answers.flatMap((a) => (a.kind === 'record' ? [a.seq] : []));
  const highest = seqs.length ? Math.max(...seqs) : 0;
  if (opts.seq !== undefined && seqs.length && opts.seq <= highest) throw new StaleSeqError(opts.seq, highest);
  const seq = opts.seq ?? highest + 1;
  const record = signRecord(cap, seq, payload);

  // Closest first; peers that did not answer the read go last.
  const queue = [...answers.filter((a) => a.kind !== 'error'), ...answers.filter((a) => a.kind === 'error')].map((a) => a.peer);
  const storedOn: string[] = [];
  const failures: Record<string, string> = {};
  // The next peer is taken only while fewer than `replicas` are stored or in flight: a failure frees a
  // place for the next one in the queue, a success does not (forEachLimit asks again after a `done`).
  let inflight = 0;
  const next: Iterator<ShareServer> = {
    next: () =>
      storedOn.length + inflight < replicas && queue.length && !opts.signal?.aborted ? { done: false, value: queue.shift()! } : { done: true, value: undefined }
  };
  await forEachLimit({ [Symbol.iterator]: () => next }, replicas, async (peer) => {
    inflight++;
    try {
      await peer.putSlot(si, record, { signal: deadline(opts.signal, timeoutMs), leaseUntil: opts.leaseUntil });
      storedOn.push(peer.id);
    } catch (e) {
      const err = e as Error & { reason?: string };
      failures[peer.id] = err.reason ?? err.message;
    } finally {
      inflight--;
    }
  });
  checkAborted(opts.signal);
  if (storedOn.length < minReplicas) {
    throw new NotEnoughReplicasError({ stored: storedOn.length, needed: minReplicas, storedOn, candidates: candidates.length, seq, failures });
  }
  return { seq, storedOn, failures };
}

/**
 * Fetch the newest valid record of a slot from the closest peers: every record is verified (forged, tampered
 * or foreign ones are dropped and counted), the highest seq that decrypts wins. Null when no peer has one.
 * Peers that returned an older record get the newest one written back (best effort) unless repair is false.
 */
export async function fetchRecord(finder: ServerFinder, cap: MutableReadCap | MutableWriteCap | string, opts: FetchOptions = {}): Promise<FetchResult | null> {
  const c = toCap(cap, ['mw', 'mr'] as const, 'fetchRecord');
  const readCap = toReadCap(c);
  const timeoutMs = opts.timeoutMs ?? SLOT_OP_TIMEOUT_MS;
  const si = storageIndexOf(readCap)!;
  const candidates = await finder.candidates(si, opts.peers ?? 2 * DEFAULT_REPLICAS, { signal: opts.signal });
  if (candidates.length === 0) throw new NoPeersError();
  const answers = await readAll(candidates, si, readCap, { parallelism: opts.parallelism ?? SLOT_PARALLELISM, timeoutMs, signal: opts.signal });
  checkAborted(opts.signal);
  let bad = answers.filter((a) => a.kind === 'bad').length;
  const unreachable = answers.filter((a) => a.kind === 'error').length;
  const valid = answers.filter((a): a is Extract<Answer, { kind: 'record' }> => a.kind === 'record').sort((a, b) => b.seq - a.seq);

  let winner: { seq: number; payload: Uint8Array; record: Uint8Array } | undefined;
  const tried = new Set<string>();
  for (const a of valid) {
    const key = Buffer.from(a.record).toString('base64');
    if (tried.has(key)) continue;
    tried.add(key);
    try {
      const { seq, payload } = openRecord(readCap, a.record);
      winner = { seq, payload, record: a.record };
      break;
    } catch {
      bad += valid.filter((v) => Buffer.compare(v.record, a.record) === 0).length; // signed but does not decrypt
    }
  }
  if (!winner) return null;
  const w = winner;
  const holders = valid.filter((a) => Buffer.compare(a.record, w.record) === 0).map((a) => a.peer.id);
  const staleAnswers = valid.filter((a) => a.seq < w.seq);
  const repaired: string[] = [];
  if (opts.repair ?? true) {
    await mapLimit(staleAnswers, opts.parallelism ?? SLOT_PARALLELISM, async (a) => {
      try {
        await a.peer.putSlot(si, w.record, { signal: deadline(opts.signal, timeoutMs) });
        repaired.push(a.peer.id);
      } catch {
        /* best effort */
      }
    });
  }
  return { seq: w.seq, payload: w.payload, holders, stale: staleAnswers.map((a) => a.peer.id), repaired, bad, unreachable, record: w.record };
}

/** The text form of a slot's read cap, for sharing read access to a folder head. */
export function slotReadCap(writeCap: MutableWriteCap | string): string {
  return formatCap(toReadCap(toCap(writeCap, ['mw'] as const, 'slotReadCap')));
}
