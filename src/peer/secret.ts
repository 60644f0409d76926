// The convergence secret (HOME/convergence.secret, 32 bytes, owner-only): files stored twice by this owner
// converge on the same cap and shares; other owners' do not (their secret differs). Made on first start.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { ConfigError } from './errors.ts';

const SECRET_BYTES = 32;

export async function loadOrCreateSecret(path: string): Promise<Uint8Array> {
  try {
    const b = await readFile(path);
    if (b.length !== SECRET_BYTES)
      throw new ConfigError(`${path} must hold ${SECRET_BYTES} bytes (found ${b.length}); restore it from a backup or remove it to start a new one`, { path });
    return b;
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw err;
    const secret = randomBytes(SECRET_BYTES);
    await writeFile(path, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}
