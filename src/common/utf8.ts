// Strings ordered by their UTF-8 bytes: the order of tree entries (docs/FORMAT.md).
//   [...names].sort(compareUtf8)

/**
 * Compare `a` and `b` as their UTF-8 bytes compare (Buffer.compare of the encodings), without encoding them.
 * UTF-16 code units order two strings as their UTF-8 bytes do until the first difference involves a surrogate
 * (a code point above U+FFFF, which UTF-8 puts after U+E000-U+FFFF and UTF-16 before them): only then are the
 * two encoded and compared.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length === b.length ? 0 : 1;
}
