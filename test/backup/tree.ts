// Build test trees and describe trees on disk entry by entry (content sha256, mode, mtime, link target).
import { createHash } from 'node:crypto';
import { chmod, lstat, lutimes, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';

export type Spec =
  | { type: 'file'; content: Uint8Array | string; mode?: number; mtimeMs?: number }
  | { type: 'dir'; mode?: number; mtimeMs?: number }
  | { type: 'symlink'; target: string; mtimeMs?: number };

/** Create entries (paths relative to root, parents first); modes and mtimes set after all content. */
export async function makeTree(root: string, spec: Record<string, Spec>): Promise<void> {
  await mkdir(root, { recursive: true });
  const paths = Object.keys(spec);
  for (const p of paths) {
    const s = spec[p],
      abs = join(root, p);
    if (s.type === 'dir') await mkdir(abs, { recursive: true });
    else if (s.type === 'file') await writeFile(abs, s.content);
    else await symlink(s.target, abs);
  }
  for (const p of [...paths].reverse()) {
    const s = spec[p],
      abs = join(root, p);
    if (s.type !== 'symlink' && s.mode !== undefined) await chmod(abs, s.mode);
    if (s.mtimeMs !== undefined) await (s.type === 'symlink' ? lutimes : utimes)(abs, s.mtimeMs / 1000, s.mtimeMs / 1000);
  }
}

export interface Described {
  type: string;
  mode?: number;
  mtimeMs: number;
  sha256?: string;
  size?: number;
  target?: string;
}

export async function describeTree(root: string): Promise<Map<string, Described>> {
  const out = new Map<string, Described>();
  const walk = async (dir: string, rel: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name),
        p = rel ? `${rel}/${name}` : name;
      const st = await lstat(abs);
      const mtimeMs = Math.floor(st.mtimeMs);
      if (st.isDirectory()) {
        await walk(abs, p);
        out.set(p, { type: 'dir', mode: st.mode & 0o7777, mtimeMs });
      } else if (st.isSymbolicLink()) out.set(p, { type: 'symlink', target: await readlink(abs), mtimeMs });
      else
        out.set(p, {
          type: 'file',
          mode: st.mode & 0o7777,
          mtimeMs,
          size: st.size,
          sha256: createHash('sha256')
            .update(await readFile(abs))
            .digest('hex')
        });
    }
  };
  await walk(root, '');
  return out;
}

const oneFileDir = (i: number) => `d${String(i).padStart(4, '0')}`;
const oneFileText = (i: number) => `file ${i} `.repeat(20); // stored in a pack, not in its entry

/** `n` directories (d0000, d0001, …) of one small file each under `root`: many directories, little data. */
export async function makeOneFileDirs(root: string, n: number): Promise<string> {
  for (let i = 0; i < n; i++) {
    const d = join(root, oneFileDir(i));
    await mkdir(d, { recursive: true });
    await writeFile(join(d, 'f.txt'), oneFileText(i));
  }
  return root;
}

/** The files of these directories of makeOneFileDirs read back as written under `out`. */
export async function assertOneFileDirs(out: string, indexes: readonly number[]): Promise<void> {
  for (const i of indexes) assert.equal(await readFile(join(out, oneFileDir(i), 'f.txt'), 'utf8'), oneFileText(i));
}
