// Which local paths the API may touch: every path it receives (a folder to add or back up, a file to
// put, a restore target) must lie under one of the allowed roots (config `api.allowedRoots`, default
// the user's home directory and the OS temp directory). Symlinks are resolved on the longest existing
// prefix, so a link inside a root that points outside it is refused too, and the guard returns that resolved
// path: callers use it, never the path as given (no window between the check and the use).
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { BadRequestError } from '../common/errors.ts';
import { PathNotAllowedError } from './errors.ts';

async function realPrefix(path: string): Promise<string> {
  let p = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(await realpath(p), ...rest.reverse());
    } catch {
      const up = dirname(p);
      if (up === p) return resolve(path);
      rest.push(p.slice(up.length).replace(/^\/+/, ''));
      p = up;
    }
  }
}

export function createPathGuard(roots: string[]) {
  const realRoots = Promise.all(roots.map(realPrefix));
  return async function allowed(path: string, what = 'path'): Promise<string> {
    if (!isAbsolute(path)) throw new BadRequestError(`${what} must be an absolute path, got "${path}"`, { path });
    const real = await realPrefix(path);
    for (const root of await realRoots) {
      const rel = relative(root, real);
      // The resolved path is what was checked, so it is what the caller uses: handing back `path` would let a
      // symlink on it be swapped between this check and the use (to point outside every root).
      if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return real;
    }
    throw new PathNotAllowedError(what, path, roots);
  };
}
export type PathGuard = ReturnType<typeof createPathGuard>;
