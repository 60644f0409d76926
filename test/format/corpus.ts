// Real bytes no one here wrote, for chunking and compression tests: the regular files under a system folder
// (/usr/share, /usr/include), read in sorted path order and concatenated up to a size. Deterministic on one
// machine; tests assert properties (bounded change, bounds, equality of two paths), never exact boundaries.
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const cache = new Map<string, Uint8Array>();

/** Up to `limit` bytes of the files under `dir` (fewer if the folder holds less). */
export function realCorpus(dir: string, limit: number): Uint8Array {
  const id = `${dir}:${limit}`;
  const hit = cache.get(id);
  if (hit) return hit;
  const out = new Uint8Array(limit);
  let w = 0;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (w >= limit) return;
      const p = join(d, name);
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size > 0) {
        let b: Buffer;
        try {
          b = readFileSync(p);
        } catch {
          continue;
        }
        const n = Math.min(b.length, limit - w);
        out.set(b.subarray(0, n), w);
        w += n;
      }
    }
  };
  walk(dir);
  const r = out.subarray(0, w);
  cache.set(id, r);
  return r;
}
