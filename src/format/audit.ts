// Proofs of storage for one block of a share (docs/HEALTH.md "Audits").
// The holder answers a challenge (share, segment, nonce) from its own share file with the block itself,
// the block's leaf hash, its sibling path in the share's block tree, and proof = H("p2pb:v1:audit", nonce, block).
// The auditor needs only the share's root (from the share-roots list, checked against the UEB hash in the
// verify cap): blockHash(block) = leaf, the path leads from the leaf to the root, and the proof recomputes.
// Guarantee: a holder that no longer has the block cannot answer (it would need a SHA-256 second preimage of
// the leaf); the nonce makes every answer fresh. It does not show the holder keeps its *own* copy (it could
// fetch the block from another holder of the same share, as with any remote proof of storage).
import { HASH_BYTES } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { FOOTER_BYTES, UEB_BYTES } from './constants.ts';
import { blockOffset, segmentBlockSize } from './geometry.ts';
import { parseFooter } from './layout.ts';
import { blockHash, equal, pathIndexes, rootFromPath } from './merkle.ts';
import { decodeUeb } from './ueb.ts';

export const AUDIT_TAG = 'p2pb:v1:audit';
/** Nonce bytes of a challenge. */
export const AUDIT_NONCE_BYTES = 32;
/** Largest block a holder sends in an audit answer (fits one protocol frame with room for the header). */
export const AUDIT_MAX_BLOCK_BYTES = 1024 * 1024;

export interface AuditAnswer {
  block: Uint8Array;
  leaf: Uint8Array;
  path: Uint8Array[];
  proof: Uint8Array;
}

export function auditProof(nonce: Uint8Array, block: Uint8Array): Uint8Array {
  return taggedHash(AUDIT_TAG, nonce, block);
}

/**
 * Holder side: answer from a share file read through `read` (the holder's own bytes, parsed with the same bounds
 * checks as any reader). Throws RangeError for a segment the share does not have or a block above the limit.
 */
export async function proveBlock(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
  segment: number,
  nonce: Uint8Array
): Promise<AuditAnswer> {
  if (size < FOOTER_BYTES + UEB_BYTES + 64) throw new RangeError('share too small');
  const footer = parseFooter(await read(size - FOOTER_BYTES, FOOTER_BYTES), size);
  if (typeof footer === 'string') throw new RangeError(`stored share is unreadable: ${footer}`);
  const parsed = decodeUeb(await read(footer.uebOffset, UEB_BYTES));
  if (!parsed) throw new RangeError('stored share has a malformed UEB');
  const g = parsed.geometry;
  if (!Number.isInteger(segment) || segment < 0 || segment >= g.numSegments) throw new RangeError(`segment ${segment} out of range 0..${g.numSegments - 1}`);
  const bs = segmentBlockSize(g, segment);
  if (bs > AUDIT_MAX_BLOCK_BYTES) throw new RangeError(`block of ${bs} bytes is above the audit limit`);
  const block = await read(blockOffset(g, segment), bs);
  const idx = [g.leaves - 1 + segment, ...pathIndexes(segment, g.leaves)];
  const nodes = await Promise.all(idx.map((i) => read(g.blockTreeOffset + i * HASH_BYTES, HASH_BYTES)));
  return { block, leaf: nodes[0], path: nodes.slice(1), proof: auditProof(nonce, block) };
}

/** Auditor side: null if the answer proves possession of block `segment` under `root`, else the reason. */
export function checkAuditAnswer(
  a: AuditAnswer,
  o: { root: Uint8Array; segment: number; leaves: number; blockSize: number; nonce: Uint8Array }
): string | null {
  if (a.block.length !== o.blockSize) return 'wrong block size';
  const leaf = blockHash(a.block);
  if (!equal(leaf, a.leaf)) return 'block does not hash to the leaf';
  if (a.path.length !== pathIndexes(o.segment, o.leaves).length) return 'wrong path length';
  if (!equal(rootFromPath(leaf, o.segment, o.leaves, a.path), o.root)) return 'path does not lead to the share root';
  if (!equal(auditProof(o.nonce, a.block), a.proof)) return 'proof not bound to the nonce';
  return null;
}
