// Placeholder zstd "auto" compression (replaced by the chunker branch's measured version at merge).
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { P2PBackupError } from '../common/errors.ts';

export const COMPRESS_RAW = 0;
export const COMPRESS_ZSTD = 1;

export class DecompressError extends P2PBackupError {
  constructor(code: 'ERR_DECOMPRESS' | 'ERR_DECOMPRESSED_LENGTH', message: string) { super(code, message); }
}

export function compressAuto(plain: Uint8Array, o: { level?: number } = {}): { method: 0 | 1; bytes: Uint8Array } {
  if (plain.length < 64) return { method: 0, bytes: plain };
  const c = zstdCompressSync(plain, { params: { [constants.ZSTD_c_compressionLevel]: o.level ?? 3 } });
  if (c.length > plain.length - (plain.length >> 4)) return { method: 0, bytes: plain };
  return { method: 1, bytes: new Uint8Array(c.buffer, c.byteOffset, c.length) };
}

export function decompress(method: number, bytes: Uint8Array, expectedLength: number): Uint8Array {
  if (method === 0) {
    if (bytes.length !== expectedLength) throw new DecompressError('ERR_DECOMPRESSED_LENGTH', 'raw length differs');
    return bytes;
  }
  if (method !== 1) throw new DecompressError('ERR_DECOMPRESS', `unknown method ${method}`);
  let out: Buffer;
  try { out = zstdDecompressSync(bytes, { maxOutputLength: Math.max(1, expectedLength) }); } catch (e) { throw new DecompressError('ERR_DECOMPRESS', (e as Error).message); }
  if (out.length !== expectedLength) throw new DecompressError('ERR_DECOMPRESSED_LENGTH', 'length differs');
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
