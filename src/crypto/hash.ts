// Tagged (domain-separated) SHA-256.
//   taggedHash(tag, ...parts) = SHA-256( u16be(len(tag)) || tag || for each part: u64be(len(part)) || part )
// Tag and parts are length-prefixed, so no two different (tag, parts) inputs share a preimage.
// taggedHasher(tag) hashes one unprefixed stream after the prefixed tag; use it only with tags
// reserved for streams (TAGS.plaintext) so the two forms never share a tag.
import { createHash, hash, type Hash } from 'node:crypto';

const enc = new TextEncoder();

function tagPrefix(tag: string): Uint8Array {
  const t = enc.encode(tag);
  if (t.length > 0xffff) throw new RangeError('tag too long');
  const out = new Uint8Array(2 + t.length);
  out[0] = t.length >>> 8;
  out[1] = t.length & 0xff;
  out.set(t, 2);
  return out;
}

const prefixCache = new Map<string, Uint8Array>();
function cachedPrefix(tag: string): Uint8Array {
  let p = prefixCache.get(tag);
  if (!p) {
    p = tagPrefix(tag);
    prefixCache.set(tag, p);
  }
  return p;
}

function putLen(b: Uint8Array, at: number, n: number): void {
  // u64be; lengths are safe integers (< 2^53)
  const hi = Math.floor(n / 0x1_0000_0000),
    lo = n >>> 0;
  b[at] = hi >>> 24;
  b[at + 1] = (hi >>> 16) & 0xff;
  b[at + 2] = (hi >>> 8) & 0xff;
  b[at + 3] = hi & 0xff;
  b[at + 4] = lo >>> 24;
  b[at + 5] = (lo >>> 16) & 0xff;
  b[at + 6] = (lo >>> 8) & 0xff;
  b[at + 7] = lo & 0xff;
}

const asBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** Inputs up to this many bytes are hashed in one call over one joined buffer (no Hash object per call). */
const ONE_SHOT_MAX = 4096;

/** Domain-separated SHA-256 of the parts; 32 bytes (a fresh Uint8Array the caller owns). */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const prefix = cachedPrefix(tag);
  let total = prefix.length;
  for (const p of parts) total += 8 + p.length;
  if (total <= ONE_SHOT_MAX) {
    const b = new Uint8Array(total);
    b.set(prefix, 0);
    let w = prefix.length;
    for (const p of parts) {
      putLen(b, w, p.length);
      b.set(p, w + 8);
      w += 8 + p.length;
    }
    return asBytes(hash('sha256', b, 'buffer') as unknown as Buffer);
  }
  const h = createHash('sha256');
  h.update(prefix);
  const len = new Uint8Array(8);
  for (const p of parts) {
    putLen(len, 0, p.length);
    h.update(len);
    h.update(p);
  }
  return asBytes(h.digest());
}

/**
 * taggedHash(tag, left, right) for two 32-byte parts (Merkle interior nodes), through one reused scratch buffer.
 * Same bytes as taggedHash; cheaper because trees hash thousands of nodes.
 */
export function taggedPairHasher(tag: string): (left: Uint8Array, right: Uint8Array) => Uint8Array {
  const prefix = cachedPrefix(tag);
  const scratch = new Uint8Array(prefix.length + 2 * (8 + 32));
  scratch.set(prefix, 0);
  const l = prefix.length,
    r = l + 8 + 32;
  putLen(scratch, l, 32);
  putLen(scratch, r, 32);
  return (left, right) => {
    if (left.length !== 32 || right.length !== 32) return taggedHash(tag, left, right);
    scratch.set(left, l + 8);
    scratch.set(right, r + 8);
    return asBytes(hash('sha256', scratch, 'buffer') as unknown as Buffer);
  };
}

/**
 * taggedHash(tag, part) for one part of `length` bytes given in pieces: update(piece)… then digest(). Same bytes as
 * taggedHash (the part's length prefix first), without joining the pieces; more or fewer bytes than `length` throw.
 */
export function taggedPartHasher(tag: string, length: number): { update(piece: Uint8Array): void; digest(): Uint8Array } {
  const h = createHash('sha256');
  h.update(cachedPrefix(tag));
  const len = new Uint8Array(8);
  putLen(len, 0, length);
  h.update(len);
  let left = length;
  return {
    update(piece) {
      left -= piece.length;
      if (left < 0) throw new RangeError(`more than the ${length} bytes of the part`);
      h.update(piece);
    },
    digest() {
      if (left !== 0) throw new RangeError(`${left} bytes of the part are missing`);
      return asBytes(h.digest());
    }
  };
}

/** Incremental tagged hash over one stream: call .update(chunk)… then .digest(). */
export function taggedHasher(tag: string): Hash {
  const h = createHash('sha256');
  h.update(cachedPrefix(tag));
  return h;
}

/** Plain SHA-256 (used for frozen test vectors and interop). */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
