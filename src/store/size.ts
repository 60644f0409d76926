// Human sizes: "20GiB", "500MB", "1.5 TiB", "4096" (bytes) → a byte count; and back for messages.
import { SIZE_UNITS } from './constants.ts';
import { InvalidSizeError } from './errors.ts';

/** Parse a human size. Binary units (KiB, MiB, GiB, TiB; K/M/G/T) are powers of 1024, decimal ones (kB, MB, GB, TB) powers of 1000. */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text < 0)
      throw new InvalidSizeError(`size must be a non-negative integer number of bytes, got ${text}`, { input: text });
    return text;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) throw new InvalidSizeError(`cannot read size "${text}": expected a number and an optional unit such as 500MB or 20GiB`, { input: text });
  const unit = m[2].toLowerCase() || 'b';
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) {
    throw new InvalidSizeError(`unknown size unit "${m[2]}" in "${text}": use B, kB, MB, GB, TB (×1000) or KiB, MiB, GiB, TiB (×1024)`, {
      input: text,
      unit: m[2]
    });
  }
  const bytes = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(bytes)) throw new InvalidSizeError(`size "${text}" is too large`, { input: text });
  return bytes;
}

/** Format a byte count for messages: 1536 → "1.5 KiB". */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '')} ${units[i]}`;
}
