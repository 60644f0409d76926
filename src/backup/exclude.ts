// Exclude rules, gitignore-like basics. A pattern is matched against paths relative to the backup root,
// with `/` separators:
// - blank lines and lines starting with `#` are ignored; `!pattern` re-includes what an earlier rule excluded
//   (the last matching rule wins);
// - a trailing `/` matches directories only;
// - a pattern without `/` matches the name at any depth (below the directory of its ignore file);
//   a pattern with a `/` (a leading one is dropped) is anchored at that directory;
// - `*` any characters but `/`, `?` one character but `/`, `[abc]`/`[!a-z]` a class, `**` any number of
//   directories. Unlike node's matchesGlob, `*` also matches names starting with a dot (as git does).
// An excluded directory is not entered at all.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IGNORE_FILE } from './constants.ts';

export interface ExcludeRule {
  /** Directory (relative to the root, '' for the root) the rule applies under. */
  base: string;
  re: RegExp;
  /** Match against the name only (pattern had no `/`), or the path relative to `base`. */
  nameOnly: boolean;
  negate: boolean;
  dirOnly: boolean;
  /** The pattern as written, for reports. */
  source: string;
}

const escapeRe = (c: string) => c.replace(/[.+^${}()|\\]/g, '\\$&');

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atStart = i === 0 || glob[i - 1] === '/';
        const slashAfter = glob[i + 2] === '/';
        if (atStart && slashAfter) {
          re += '(?:.*/)?';
          i += 2;
          continue;
        }
        if (atStart && i + 2 === glob.length) {
          re += '.*';
          i += 1;
          continue;
        }
        re += '[^/]*';
        i += 1;
        continue;
      }
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body[0] === '!') body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += escapeRe(glob[++i]).replace(/[[\]*?]/g, '\\$&');
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(`^${re}$`, 's');
}

/** Rules from pattern lines (an exclude file, an ignore file, or `--exclude` values) applying under `base`. */
export function parseRules(lines: Iterable<string>, base = ''): ExcludeRule[] {
  const rules: ExcludeRule[] = [];
  for (const raw of lines) {
    let p = raw.replace(/\r$/, '');
    if (!/\\\s$/.test(p)) p = p.replace(/\s+$/, '');
    if (p === '' || p.startsWith('#')) continue;
    const source = p;
    const negate = p.startsWith('!');
    if (negate) p = p.slice(1);
    const dirOnly = p.endsWith('/');
    if (dirOnly) p = p.replace(/\/+$/, '');
    const nameOnly = !p.includes('/');
    p = p.replace(/^\/+/, '');
    if (p === '') continue;
    rules.push({ base, re: globToRegExp(p), nameOnly, negate, dirOnly, source });
  }
  return rules;
}

/** The rule that decides `rel` (last match wins), or null when none matches; excluded when it is not a negation. */
export function matchRule(rules: readonly ExcludeRule[], rel: string, isDir: boolean): ExcludeRule | null {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i];
    if (r.dirOnly && !isDir) continue;
    let sub: string;
    if (r.base === '') sub = rel;
    else if (rel.startsWith(`${r.base}/`)) sub = rel.slice(r.base.length + 1);
    else continue;
    if (r.re.test(r.nameOnly ? name : sub)) return r;
  }
  return null;
}

export function isExcluded(rules: readonly ExcludeRule[], rel: string, isDir: boolean): boolean {
  const r = matchRule(rules, rel, isDir);
  return r !== null && !r.negate;
}

/** The first of `names` present in `dir` (`--exclude-if-present`), or null. */
export function firstPresent(dir: string, names: readonly string[] | undefined): string | null {
  for (const n of names ?? []) if (lstatSync(join(dir, n), { throwIfNoEntry: false })) return n;
  return null;
}

/**
 * The rules in force inside directory `abs` (`rel` from the root, listing `names`): `inherited` plus those
 * of its own ignore file, if it has one. Throws when that file cannot be read (the backup reports it; the
 * scan (scan.ts) ignores it). Backup and scan both call this, so both apply exactly the same rules.
 */
export function rulesIn(abs: string, rel: string, names: readonly string[], inherited: ExcludeRule[]): ExcludeRule[] {
  if (!names.includes(IGNORE_FILE)) return inherited;
  return [...inherited, ...parseRules(readFileSync(join(abs, IGNORE_FILE), 'utf8').split('\n'), rel)];
}
