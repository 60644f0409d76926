// The layers of docs/ARCHITECTURE.md, enforced: the table there lists the folders of src/ in order, each
// depending only on those above it. This reads every import (static, `export … from`, dynamic) of every
// file under src/ and fails on one that points into a folder further down the table, or into a folder
// the table does not list. src/index.ts, the package's entry, re-exports the public layers and is exempt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const doc = readFileSync(join(root, 'docs', 'ARCHITECTURE.md'), 'utf8');
const layers = [...new Set([...doc.matchAll(/^\| `src\/([a-z-]+)\/`/gm)].map((m) => m[1]))];
// Known exceptions, each with its way out (none today).
const ALLOWED = new Set<string>([]);

function importsOf(file: string): string[] {
  const code = readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  return [...code.matchAll(/\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => m[1] ?? m[2] ?? m[3]);
}

test('every import under src/ follows the layer table of docs/ARCHITECTURE.md', () => {
  assert.ok(layers.length >= 10 && layers[0] === 'common', `the table was read: ${layers.join(' > ')}`);
  const wrong: string[] = [];
  for (const entry of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && f !== 'index.ts')) {
    const from = entry.split('/')[0];
    if (!layers.includes(from)) {
      wrong.push(`src/${from}/ has no row in the table`);
      continue;
    }
    for (const spec of importsOf(join(src, entry)).filter((s) => s.startsWith('.'))) {
      const target = relative(src, resolve(src, dirname(entry), spec));
      const to = target.split('/')[0];
      if (target.startsWith('..') || to === from || ALLOWED.has(`${entry} -> ${target}`)) continue;
      if (!(layers.indexOf(to) >= 0 && layers.indexOf(to) < layers.indexOf(from)))
        wrong.push(`src/${entry} imports src/${target} (${from} may use only ${layers.slice(0, layers.indexOf(from)).join(', ')})`);
    }
  }
  assert.deepEqual(wrong, []);
});
