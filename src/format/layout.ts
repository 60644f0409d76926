// Fixed-size share header (offset 0) and footer (last 64 bytes). See docs/FORMAT.md "Share layout".
import { STORAGE_INDEX_BYTES } from '../caps/constants.ts';
import { FOOTER_BYTES, FOOTER_MAGIC, HEADER_BYTES, LAYOUT_VERSION, SHARE_MAGIC, UEB_BYTES } from './constants.ts';
import type { Geometry } from './geometry.ts';
import { equal } from './merkle.ts';

export function encodeHeader(g: Geometry, shareNum: number, storageIndex: Uint8Array): Uint8Array {
  const b = new Uint8Array(HEADER_BYTES);
  b.set(SHARE_MAGIC, 0);
  new DataView(b.buffer).setUint16(8, LAYOUT_VERSION);
  b[10] = shareNum;
  b[11] = g.k;
  b[12] = g.n;
  b.set(storageIndex, 16);
  return b;
}

/** Null unless the header is exactly what this share of this file must carry. */
export function checkHeader(b: Uint8Array, g: Geometry, shareNum: number, storageIndex: Uint8Array): string | null {
  if (b.length !== HEADER_BYTES) return 'short header';
  if (!equal(b.subarray(0, 8), SHARE_MAGIC)) return 'bad magic';
  const expected = encodeHeader(g, shareNum, storageIndex);
  return equal(b, expected) ? null : 'header fields do not match the cap';
}

export interface Footer {
  blockTreeOffset: number;
  shareRootsOffset: number;
  uebOffset: number;
  uebLength: number;
  shareNum: number;
  storageIndex: Uint8Array;
}

export function encodeFooter(g: Geometry, shareNum: number, storageIndex: Uint8Array): Uint8Array {
  const b = new Uint8Array(FOOTER_BYTES);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(g.blockTreeOffset));
  dv.setBigUint64(8, BigInt(g.shareRootsOffset));
  dv.setBigUint64(16, BigInt(g.uebOffset));
  dv.setUint32(24, UEB_BYTES);
  dv.setUint16(28, LAYOUT_VERSION);
  b[30] = shareNum;
  b.set(storageIndex, 32);
  b.set(FOOTER_MAGIC, 56);
  return b;
}

/** Parse a footer of a share of `size` bytes; every offset is bounds-checked. Returns a reason string on failure. */
export function parseFooter(b: Uint8Array, size: number): Footer | string {
  if (b.length !== FOOTER_BYTES) return 'short footer';
  if (!equal(b.subarray(56, 64), FOOTER_MAGIC)) return 'bad footer magic';
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  if (dv.getUint16(28) !== LAYOUT_VERSION) return 'unknown layout version';
  if (b[31] !== 0 || dv.getBigUint64(48) !== 0n) return 'reserved footer bytes not zero';
  const big = [dv.getBigUint64(0), dv.getBigUint64(8), dv.getBigUint64(16)];
  if (big.some((x) => x > BigInt(size))) return 'footer offset beyond end of share';
  const [blockTreeOffset, shareRootsOffset, uebOffset] = big.map(Number);
  const uebLength = dv.getUint32(24);
  if (uebLength !== UEB_BYTES) return 'unexpected UEB length';
  if (uebOffset + uebLength !== size - FOOTER_BYTES) return 'UEB does not end at the footer';
  if (!(HEADER_BYTES < blockTreeOffset && blockTreeOffset < shareRootsOffset && shareRootsOffset < uebOffset)) return 'footer offsets out of order';
  return { blockTreeOffset, shareRootsOffset, uebOffset, uebLength, shareNum: b[30], storageIndex: b.slice(32, 32 + STORAGE_INDEX_BYTES) };
}
