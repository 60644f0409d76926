// TEMP until the store's parseSize lands.
import { P2PBackupError } from '../common/errors.ts';
const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new P2PBackupError('ERR_SIZE', `not a size: "${text}" (use e.g. 500MB, 20GiB or a byte count)`);
  return Math.floor(Number(m[1]) * unit);
}
