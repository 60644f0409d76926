// A small named-cap store in LevelDB under <homeDir>/keystore (directory mode 0700: caps are secrets).
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Level } from 'level';
import { KeystoreError } from './errors.ts';
import { formatCap, parseCap } from './text.ts';
import type { Cap } from './types.ts';

export interface Keystore {
  put(name: string, cap: Cap | string): Promise<void>;
  get(name: string): Promise<Cap | undefined>;
  list(): Promise<{ name: string; cap: Cap }[]>;
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}

const NAME_MAX = 256;
function checkName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > NAME_MAX) {
    throw new KeystoreError('ERR_KEYSTORE_BAD_NAME', `a key name is 1..${NAME_MAX} characters`, { name });
  }
}

export async function openKeystore(homeDir: string): Promise<Keystore> {
  const dir = join(homeDir, 'keystore');
  await mkdir(homeDir, { recursive: true, mode: 0o700 });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // mkdir's mode is filtered by umask and ignored for existing dirs
  const db = new Level<string, string>(dir, { valueEncoding: 'utf8' });
  try {
    await db.open();
  } catch (e) {
    throw new KeystoreError('ERR_KEYSTORE_OPEN', `cannot open keystore at ${dir}`, { dir }, { cause: e });
  }
  return {
    async put(name, cap) {
      checkName(name);
      const text = typeof cap === 'string' ? formatCap(parseCap(cap)) : formatCap(cap);
      await db.put(name, text);
    },
    async get(name) {
      checkName(name);
      const v = await db.get(name);
      return v === undefined ? undefined : parseCap(v);
    },
    async list() {
      const out: { name: string; cap: Cap }[] = [];
      for await (const [name, v] of db.iterator()) out.push({ name, cap: parseCap(v) });
      return out;
    },
    async delete(name) {
      checkName(name);
      await db.del(name);
    },
    async close() { await db.close(); },
  };
}
