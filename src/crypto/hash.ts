// Tagged (domain-separated) SHA-256.
//   taggedHash(tag, ...parts) = SHA-256( u16be(len(tag)) || tag || for each part: u64be(len(part)) || part )
// Tag and parts are length-prefixed, so no two different (tag, parts) inputs share a preimage.
// taggedHasher(tag) hashes one unprefixed stream after the prefixed tag; use it only with tags
// reserved for streams (TAGS.plaintext) so the two forms never share a tag.
import { createHash, type Hash } from 'node:crypto';

const enc = new TextEncoder();

function tagPrefix(tag: string): Uint8Array {
  const t = enc.encode(tag);
  if (t.length > 0xffff) throw new RangeError('tag too long');
  const out = new Uint8Array(2 + t.length);
  out[0] = t.length >>> 8; out[1] = t.length & 0xff;
  out.set(t, 2);
  return out;
}

const prefixCache = new Map<string, Uint8Array>();
function cachedPrefix(tag: string): Uint8Array {
  let p = prefixCache.get(tag);
  if (!p) { p = tagPrefix(tag); prefixCache.set(tag, p); }
  return p;
}

function lenPrefix(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

/** Domain-separated SHA-256 of the parts; 32 bytes. */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  h.update(cachedPrefix(tag));
  for (const p of parts) { h.update(lenPrefix(p.length)); h.update(p); }
  return new Uint8Array(h.digest().buffer.slice(0) as ArrayBuffer);
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
