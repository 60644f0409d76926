import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  encodeTree,
  decodeTree,
  toTreeEntry,
  encodeSnapshot,
  decodeSnapshot,
  encodeHead,
  decodeHead,
  encodeRef,
  capOf,
  InvalidObjectError,
  isRestorableName,
  isSafeName,
  globToRegExp,
  parseRules,
  isExcluded,
  entryContent,
  type TreeEntry
} from '../../src/backup/index.ts';
import { BLOB_KIND_CODES, createMutableWriteCap, formatCap, parseCap, toReadCap, type BlobKind } from '../../src/caps/index.ts';

const repo = toReadCap(createMutableWriteCap());
const ref = (kind: 'data' | 'list' | 'tree') => encodeRef({ kind, id: randomBytes(32), key: randomBytes(32) });
const entries: TreeEntry[] = [
  { name: 'zeta', type: 'file', mode: 0o644, mtimeNs: '1700000000123456789', size: 3, lit: Buffer.from('abc').toString('base64url') },
  { name: 'with\nnewline and space', type: 'symlink', mode: 0o777, mtimeNs: '1', target: '../x' },
  { name: '🎉 ünï', type: 'dir', mode: 0o755, mtimeNs: '-5', ref: ref('tree') },
  { name: 'A'.repeat(255), type: 'file', mode: 0o600, mtimeNs: '0', size: 5_000_000, ref: ref('list') },
  { name: 'b', type: 'file', mode: 0o600, mtimeNs: '0', size: 100, ref: ref('data') }
];

test('trees are canonical: same entries in any order give the same bytes, and round-trip through caps of their repository', () => {
  const a = encodeTree(entries),
    b = encodeTree([...entries].reverse());
  assert.deepEqual(a, b);
  const back = decodeTree(a, repo).entries;
  assert.deepEqual(
    back.map((e) => e.name),
    ['A'.repeat(255), 'b', 'with\nnewline and space', 'zeta', '🎉 ünï']
  );
  assert.deepEqual(encodeTree(back.map((e) => toTreeEntry(e, repo))), a);
  assert.match(Buffer.from(a).toString(), /^\{"p2pb":"tree","v":2,"entries":\[\{"name":"AAA/);
  const dir = back.find((e) => e.type === 'dir')!;
  const c = parseCap(dir.cap!);
  assert.equal(c.type, 'blob');
  assert.deepEqual((c as { repo: unknown }).repo, repo);
  assert.equal(parseCap(back.find((e) => e.name === 'zeta')!.cap!).type, 'lit');
  // The lazily built cap is an enumerable string (the API serialises entries as JSON).
  assert.equal(typeof JSON.parse(JSON.stringify(back))[0].cap, 'string');
});

test("a decoded entry's content comes from its reference, its cap is built when read, and a cap set on it replaces both", () => {
  const back = decodeTree(encodeTree(entries), repo).entries;
  const file = back.find((e) => e.name === 'b')!;
  const c = entryContent(file, ['data', 'list']);
  assert.equal(c.kind, 'data');
  assert.equal(encodeRef(c as Exclude<typeof c, { kind: 'lit' }>), entries[4].ref);
  assert.equal(file.cap, capOf(repo, c as Exclude<typeof c, { kind: 'lit' }>));
  assert.deepEqual(JSON.parse(JSON.stringify(file)), { name: 'b', type: 'file', mode: 0o600, mtimeNs: '0', size: 100, cap: file.cap });
  const link = back.find((e) => e.type === 'symlink')!;
  assert.deepEqual(JSON.parse(JSON.stringify(link)), { name: 'with\nnewline and space', type: 'symlink', mode: 0o777, mtimeNs: '1', target: '../x' });
  // A data reference is not a tree: asked as one, the entry's cap is parsed and refused.
  assert.throws(() => entryContent(file, ['tree']));
  // A cap set on the entry is its content from then on.
  const other = capOf(repo, { kind: 'list', id: randomBytes(32), key: randomBytes(32) });
  file.cap = other;
  assert.equal(file.cap, other);
  assert.equal(entryContent(file, ['data', 'list']).kind, 'list');
  assert.equal(toTreeEntry(file, repo).ref, encodeRef(contentOfCap(other)));
});

test('trees refuse unsafe names (traversal on any OS), malformed entries and references of the wrong kind', () => {
  for (const name of ['', '.', '..', 'a/b', 'nul\0', '\ud800', 'x\udfff', 'a\ud83d', 'n'.repeat(4097)]) {
    assert.throws(() => encodeTree([{ ...entries[0], name }]), InvalidObjectError, JSON.stringify(name));
  }
  // Not a string at all, even one that looks like one to the other checks (a length, a safe text when coerced).
  for (const name of [['a'], { length: 1 }, 7]) assert.equal(isSafeName(name), false, JSON.stringify(name));
  for (const name of ['n'.repeat(4096), 'pair \u{1F600}', '\uFFFD']) assert.equal(isSafeName(name), true, name.slice(0, 20));
  // `\` and `:` are ordinary in POSIX names (Perl's man pages: Algorithm::Diff.3pm.gz): stored, and refused only
  // by a restore on Windows, where they are path syntax.
  for (const name of ['Algorithm::Diff.3pm.gz', 'back\\slash', 'c:x']) {
    assert.equal(decodeTree(encodeTree([{ ...entries[0], name }]), repo).entries[0].name, name);
    assert.equal(isRestorableName(name, 'linux'), true);
    assert.equal(isRestorableName(name, 'win32'), false, name);
  }
  assert.equal(isRestorableName('plain name.txt', 'win32'), true);
  assert.throws(() => encodeTree([entries[0], entries[0]]), /duplicate/);
  assert.throws(() => encodeTree([{ ...entries[2], ref: ref('data') }]), InvalidObjectError, 'a directory naming a data blob');
  assert.throws(() => encodeTree([{ ...entries[0], size: 4 }]), /not its size/);
  const bad = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  assert.throws(() => decodeTree(bad({ p2pb: 'tree', v: 3, entries: [] }), repo), /version/);
  assert.throws(() => decodeTree(bad({ p2pb: 'dir', v: 1, entries: [] }), repo), InvalidObjectError);
  assert.throws(() => decodeTree(bad({ p2pb: 'snapshot', v: 2 }), repo), /expected a tree/);
  // A crafted tree: inline bytes that are not the size the entry declares; a directory given inline bytes.
  const lit = Buffer.from('abc').toString('base64url');
  assert.throws(
    () => decodeTree(bad({ p2pb: 'tree', v: 2, entries: [{ name: 'x', type: 'file', mode: 0, mtimeNs: '0', size: 4, lit }] }), repo),
    /not its size/
  );
  assert.throws(
    () => decodeTree(bad({ p2pb: 'tree', v: 2, entries: [{ name: 'd', type: 'dir', mode: 0, mtimeNs: '0', lit }] }), repo),
    /malformed blob reference/
  );
  assert.throws(
    () => decodeTree(bad({ p2pb: 'tree', v: 2, entries: [{ name: '..', type: 'dir', mode: 0, mtimeNs: '0', ref: ref('tree') }] }), repo),
    InvalidObjectError
  );
  assert.throws(
    () => decodeTree(bad({ p2pb: 'tree', v: 2, entries: [{ name: 'x', type: 'file', mode: 0, mtimeNs: '1'.repeat(31), size: 1, ref: ref('data') }] }), repo),
    InvalidObjectError
  );
  assert.throws(
    () => decodeTree(bad({ p2pb: 'tree', v: 2, entries: [{ name: 'x', type: 'file', mode: 0, mtimeNs: '0', size: 1, ref: ref('tree') }] }), repo),
    InvalidObjectError
  );
  assert.throws(
    () =>
      decodeTree(
        bad({
          p2pb: 'tree',
          v: 2,
          entries: [
            { name: 'b', type: 'symlink', mode: 0, mtimeNs: '0', target: 'x' },
            { name: 'a', type: 'symlink', mode: 0, mtimeNs: '0', target: 'x' }
          ]
        }),
        repo
      ),
    /sorted/
  );
  assert.throws(() => decodeTree(new Uint8Array([0xff, 0xfe]), repo), InvalidObjectError);
});

test('snapshot and head objects round-trip; they name blobs of their own repository only', () => {
  const root = capOf(repo, { kind: 'tree', id: randomBytes(32), key: randomBytes(32) });
  const parent = capOf(repo, { kind: 'snapshot', id: randomBytes(32), key: randomBytes(32) });
  const s = { root, time: 1700000000000, host: 'h', paths: ['/home/me'], label: 'l', parent, stats: { files: 1, dirs: 2, symlinks: 0, bytes: 3 } };
  assert.deepEqual(decodeSnapshot(encodeSnapshot(s, repo), repo), s);
  const other = toReadCap(createMutableWriteCap());
  assert.throws(() => encodeSnapshot(s, other), InvalidObjectError);
  const a = capOf(repo, { kind: 'snapshot', id: randomBytes(32), key: randomBytes(32) });
  const h = {
    repo: formatCap(repo),
    snapshots: [
      { cap: parent, time: 2 },
      { cap: a, time: 1 }
    ]
  };
  assert.deepEqual(decodeHead(encodeHead(h)), {
    repo: formatCap(repo),
    snapshots: [
      { cap: a, time: 1 },
      { cap: parent, time: 2 }
    ]
  });
  assert.throws(() => encodeHead({ repo: formatCap(other), snapshots: h.snapshots }), InvalidObjectError);
});

test('glob matcher', () => {
  const cases: [string, string, boolean][] = [
    ['*.log', 'a.log', true],
    ['*.log', '.x.log', true],
    ['*.log', 'a/b.log', false],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['**/x', 'x', true],
    ['**/x', 'a/b/x', true],
    ['a/**', 'a/b/c', true],
    ['a/**/z', 'a/z', true],
    ['a/**/z', 'a/b/c/z', true],
    ['[ab]c', 'bc', true],
    ['[!ab]c', 'bc', false],
    ['[!ab]c', 'xc', true],
    ['a.b', 'aXb', false],
    ['(x)+', '(x)+', true]
  ];
  for (const [glob, path, want] of cases) assert.equal(globToRegExp(glob).test(path), want, `${glob} ~ ${path}`);
});

test('exclude rules: name vs anchored, base directory, dir-only, negation (last match wins)', () => {
  const rules = [...parseRules(['*.tmp', '/top.txt', 'logs/']), ...parseRules(['*.o', '!keep.o', 'gen/out'], 'sub')];
  assert.equal(isExcluded(rules, 'a/b/c.tmp', false), true);
  assert.equal(isExcluded(rules, 'top.txt', false), true);
  assert.equal(isExcluded(rules, 'a/top.txt', false), false);
  assert.equal(isExcluded(rules, 'x/logs', true), true);
  assert.equal(isExcluded(rules, 'x/logs', false), false);
  assert.equal(isExcluded(rules, 'sub/m.o', false), true);
  assert.equal(isExcluded(rules, 'sub/deep/keep.o', false), false);
  assert.equal(isExcluded(rules, 'm.o', false), false);
  assert.equal(isExcluded(rules, 'sub/gen/out', false), true);
  assert.equal(isExcluded(rules, 'sub/x/gen/out', false), false);
});

test('storeTrees stores many directories in one index read each batch, with the refs storeTree gives; a directory of several parts too', async (t) => {
  const { createGrid } = await import('./grid.ts');
  const { storeTree, storeTrees, decodeRef } = await import('../../src/backup/index.ts');
  const { TREE_PART_BYTES } = await import('../../src/backup/constants.ts');
  const grid = await createGrid();
  t.after(() => grid.close());
  const file = (name: string, i: number): TreeEntry => ({ name, type: 'file', mode: 0o644, mtimeNs: String(i), size: 1, lit: 'eA' });
  const dirs: TreeEntry[][] = Array.from({ length: 300 }, (_, i) => [file('a', i), file('b', i)]);
  dirs.push([file('a', 5), file('b', 5)]); // the same as dirs[5]
  // Over one part of JSON: stored as a chain of parts, last to first.
  const perEntry = JSON.stringify({ name: 'x'.repeat(200), type: 'file', mode: 420, mtimeNs: '0', size: 1, lit: 'eA' }).length + 1;
  dirs.splice(
    100,
    0,
    Array.from({ length: Math.ceil(TREE_PART_BYTES / perEntry) + 10 }, (_, i) => file(`${i}`.padStart(200, 'x'), 0))
  );
  let calls = 0;
  let blobs = 0;
  const save = grid.repo.saveBlobs.bind(grid.repo);
  const partSizes: number[] = [];
  grid.repo.saveBlobs = (kind, plains, o) => {
    calls++;
    blobs += plains.length;
    if (plains.length === 1) partSizes.push(plains[0].length);
    return save(kind, plains, o);
  };
  const got = await storeTrees(grid.repo, dirs);
  assert.equal(got.length, dirs.length);
  assert.equal(calls, 3, 'the big directory: its two parts one by one; then every other directory at once');
  // Each part at most one part's worth of JSON, the entry that crossed it and the envelope; none empty.
  assert.equal(partSizes.length, 2);
  for (const size of partSizes) assert.ok(size > 2 * perEntry && size <= TREE_PART_BYTES + perEntry + 200, `a part of ${size} bytes`);
  assert.equal(blobs, dirs.length + 1);
  assert.deepEqual(
    got.map((r) => r.isNew),
    dirs.map((_, i) => i !== dirs.length - 1),
    'the repeated directory is not new'
  );
  assert.equal(got[dirs.length - 1].ref, got[5].ref);
  assert.ok(decodeRef(got[100].ref, ['tree']), 'the big directory has a tree ref');
  await grid.repo.flush();
  await Promise.all(got.map((r) => r.stored));
  // Read back: each directory lists exactly its entries, the big one across its two parts.
  const { ls, capOf } = await import('../../src/backup/index.ts');
  for (const i of [0, 100, 150]) {
    const listed = await ls(grid.src, capOf(grid.repo.readCap, decodeRef(got[i].ref, ['tree'])));
    assert.deepEqual(
      listed.map((e) => [e.name, e.mtimeNs]),
      dirs[i].map((e) => [e.name, e.mtimeNs]).sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      `directory ${i}`
    );
  }
  // One by one, storeTree gives the same refs (and finds every one stored).
  for (const [i, d] of dirs.entries()) {
    const one = await storeTree(grid.repo, d);
    assert.equal(one.ref, got[i].ref, `directory ${i}`);
    assert.equal(one.isNew, false);
  }
});

test('checkRef refuses exactly what decodeRef refuses, for every first byte and kind list, decoding nothing', async () => {
  const { checkRef, decodeRef, isRef } = await import('../../src/backup/refs.ts');
  const lists: BlobKind[][] = [['data', 'list'], ['tree'], ['snapshot'], ['data']];
  const outcome = (f: () => unknown) => {
    try {
      f();
      return 'ok';
    } catch (e) {
      assert.ok(e instanceof InvalidObjectError);
      return (e as Error).message;
    }
  };
  let accepted = 0;
  for (let first = 0; first < 256; first++) {
    const b = randomBytes(65);
    b[0] = first;
    const text = b.toString('base64url');
    for (const kinds of lists) {
      const want = outcome(() => decodeRef(text, kinds));
      assert.equal(
        outcome(() => checkRef(text, kinds)),
        want,
        `first byte ${first}, ${kinds}`
      );
      assert.equal(isRef(text, kinds), want === 'ok');
      if (want === 'ok') accepted++;
    }
  }
  assert.equal(accepted, 5, 'data and list twice, tree, snapshot');
  const good = Buffer.concat([Buffer.of(BLOB_KIND_CODES.data), randomBytes(64)]).toString('base64url');
  for (const bad of [good.slice(1), `${good}A`, `${good.slice(0, 86)}=`, `${good.slice(0, 40)}+${good.slice(41)}`, 42, null]) {
    assert.throws(() => checkRef(bad, ['data']), /malformed blob reference/);
    assert.equal(isRef(bad, ['data']), false);
  }
});

function contentOfCap(cap: string) {
  const c = parseCap(cap) as { kind: BlobKind; id: Uint8Array; key: Uint8Array };
  return { kind: c.kind, id: c.id, key: c.key };
}
