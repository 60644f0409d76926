// Cryptographically secure random bytes (node:crypto, OS CSPRNG).
import { randomBytes as nodeRandomBytes, randomFillSync } from 'node:crypto';

export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}

/**
 * Random bytes for a nonce, which is public (it is stored in the clear beside what it seals) and is never used
 * for anything secret: served from a pool of CSPRNG output drawn NONCE_POOL_BYTES at a time, each byte handed out
 * once, in a buffer of its own. One node:crypto call costs about 5 µs whatever its size, and a backup of small
 * files seals one blob per file (49,119 files of /usr/share: 0.25 s of the client's CPU, 0.66 s under the
 * profiler); from the pool a nonce costs about 0.1 µs. Keys and seeds keep randomBytes: no secret waits in the pool.
 */
export const NONCE_POOL_BYTES = 4096;
const noncePool = Buffer.alloc(NONCE_POOL_BYTES);
let noncePoolAt = NONCE_POOL_BYTES; // drawn at the first use
const nonceCounts = { refills: 0, pooled: 0, direct: 0 };

/** Nonces served from the pool, drawn directly, and the pool's refills, since the process started (tests). */
export function nonceStats(): Readonly<typeof nonceCounts> {
  return { ...nonceCounts };
}

export function randomNonce(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`a nonce of ${n} bytes`);
  if (n > NONCE_POOL_BYTES / 8) {
    nonceCounts.direct++;
    return randomBytes(n);
  }
  if (noncePoolAt + n > NONCE_POOL_BYTES) {
    randomFillSync(noncePool);
    noncePoolAt = 0;
    nonceCounts.refills++;
  }
  nonceCounts.pooled++;
  const out = new Uint8Array(noncePool.subarray(noncePoolAt, noncePoolAt + n)); // a copy
  noncePoolAt += n;
  return out;
}
