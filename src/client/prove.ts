// Proof that a peer holds one share it is credited with: an `exists` answer to an upload (the peer says it
// already holds the share, so no byte moved), or a placement in the fairness ledger (spot checks).
// 1. Open the share on that peer (footer -> UEB -> share roots): the UEB must hash to the pack cap's UEB
//    hash, which the prover computed itself (its own encode) or kept (the ledger): a peer without the pack
//    cannot produce it.
// 2. Challenge one random block with a fresh nonce (AUDIT); the answer must hash up the Merkle path to this
//    share's root, from the roots just checked. A peer without the share's blocks cannot answer.
// What a pass proves, and what it does not (a peer may fetch what it lacks from other holders), is in
// docs/HEALTH.md "Audits" and docs/INCENTIVES.md.
import { randomBytes } from 'node:crypto';
import { checkAuditAnswer, segmentBlockSize, ShareReader, AUDIT_NONCE_BYTES, AUDIT_MAX_BLOCK_BYTES } from '../format/index.ts';
import { storageIndexOf, type PackCap } from '../caps/index.ts';
import { PeerUnreachableError } from '../common/errors.ts';
import { deadline } from './util.ts';
import type { ShareServer } from './types.ts';

/** A proof (trailer plus one challenged block) must come back within this (ms); slower counts as not proven. */
export const PROVE_TIMEOUT_MS = 15_000;

export type ProveServer = Pick<ShareServer, 'id' | 'read' | 'audit'>;

/**
 * `ok`: proven. Otherwise `reason`, and `unreachable` when the peer could not be asked at all (an availability
 * matter, not evidence of cheating: callers do not count it as a failed audit).
 */
export type ProofResult = { ok: true; segment: number } | { ok: false; reason: string; unreachable?: boolean };

export async function proveShare(
  server: ProveServer,
  vcap: PackCap,
  shareNum: number,
  size: number,
  o: { signal?: AbortSignal; timeoutMs?: number } = {}
): Promise<ProofResult> {
  const si = storageIndexOf(vcap)!;
  const signal = deadline(o.signal, o.timeoutMs ?? PROVE_TIMEOUT_MS);
  const source = {
    shareNum,
    size,
    read: async (offset: number, length: number, sig?: AbortSignal) => (await server.read(si, shareNum, [[offset, length]], { signal: sig ?? signal }))[0]
  };
  const reader = new ShareReader(source, { storageIndex: si, uebHash: vcap.uebHash, k: vcap.k, n: vcap.n, size: vcap.size });
  let segment = 0;
  try {
    return await (async (): Promise<ProofResult> => {
      await reader.open(signal);
      const g = reader.geometry!;
      segment = Math.floor(Math.random() * g.numSegments);
      const blockSize = segmentBlockSize(g, segment);
      if (server.audit && blockSize <= AUDIT_MAX_BLOCK_BYTES) {
        const nonce = randomBytes(AUDIT_NONCE_BYTES);
        const a = await server.audit(si, shareNum, segment, nonce, { signal });
        const why = checkAuditAnswer(a, { root: reader.shareRoots[shareNum], segment, leaves: g.leaves, blockSize, nonce });
        return why ? { ok: false, reason: `audit of block ${segment}: ${why}` } : { ok: true, segment };
      }
      await reader.readBlock(segment, signal); // no AUDIT: a Merkle-checked read of the block
      return { ok: true, segment };
    })();
  } catch (e) {
    o.signal?.throwIfAborted();
    const err = e as Error & { code?: string };
    // Only a peer that cannot be dialled is excused; one that answers too slowly or not at all has failed (a
    // cheater must not keep its credit by stalling every check).
    const unreachable = e instanceof PeerUnreachableError;
    return { ok: false, reason: `${err.code ? `${err.code}: ` : ''}${err.message}`, ...(unreachable ? { unreachable } : {}) };
  }
}
