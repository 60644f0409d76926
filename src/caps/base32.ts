// RFC 4648 base32, lowercase alphabet, no padding. Decoding is strict: only canonical encodings
// (unused trailing bits zero, no impossible lengths) are accepted, so parse/format round-trip exactly.
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const LOOKUP = new Int8Array(128).fill(-1);
for (let i = 0; i < 32; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function base32Encode(data: Uint8Array): string {
  let out = '',
    bits = 0,
    value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** Returns null for any non-canonical input (bad character, impossible length, non-zero trailing bits). */
export function base32Decode(text: string): Uint8Array | null {
  const rem = text.length % 8;
  if (rem === 1 || rem === 3 || rem === 6) return null;
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0,
    value = 0,
    w = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) return null;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[w++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  if (value !== 0) return null;
  return out;
}
