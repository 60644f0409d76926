import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeDir, decodeDir, encodeSnapshot, decodeSnapshot, encodeHead, decodeHead, InvalidObjectError,
  globToRegExp, parseRules, isExcluded, type DirEntry,
} from '../../src/backup/index.ts';

const CAP = 'p2pb:lit:aaaa:bbbb';
const entries: DirEntry[] = [
  { name: 'zeta', type: 'file', mode: 0o644, mtimeNs: '1700000000123456789', size: 3, cap: CAP },
  { name: 'with\nnewline and space', type: 'symlink', mode: 0o777, mtimeNs: '1', target: '../x' },
  { name: '🎉 ünï', type: 'dir', mode: 0o755, mtimeNs: '-5', cap: CAP },
  { name: 'A'.repeat(255), type: 'file', mode: 0o600, mtimeNs: '0', size: 0, cap: CAP },
];

test('directory objects are canonical: same entries in any order give the same bytes, and round-trip', () => {
  const a = encodeDir(entries), b = encodeDir([...entries].reverse());
  assert.deepEqual(a, b);
  const back = decodeDir(a);
  assert.deepEqual(back.map((e) => e.name), ['A'.repeat(255), 'with\nnewline and space', 'zeta', '🎉 ünï']);
  assert.deepEqual(encodeDir(back), a);
  assert.match(Buffer.from(a).toString(), /^\{"p2pb":"dir","v":1,"entries":\[\{"name":"AAA/);
});

test('directory objects refuse unsafe names and malformed entries', () => {
  for (const name of ['', '.', '..', 'a/b', 'nul\0', '\ud800']) {
    assert.throws(() => encodeDir([{ ...entries[0], name }]), InvalidObjectError, JSON.stringify(name));
  }
  assert.throws(() => encodeDir([entries[0], entries[0]]), /duplicate/);
  const bad = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  assert.throws(() => decodeDir(bad({ p2pb: 'dir', v: 2, entries: [] })), /version/);
  assert.throws(() => decodeDir(bad({ p2pb: 'snapshot', v: 1 })), /expected a dir/);
  assert.throws(() => decodeDir(bad({ p2pb: 'dir', v: 1, entries: [{ name: '..', type: 'dir', mode: 0, mtimeNs: '0', cap: CAP }] })), InvalidObjectError);
  assert.throws(() => decodeDir(bad({ p2pb: 'dir', v: 1, entries: [{ ...entries[0], name: 'b' }, { ...entries[0], name: 'a' }] })), /sorted/);
  assert.throws(() => decodeDir(new Uint8Array([0xff, 0xfe])), InvalidObjectError);
});

test('snapshot and head objects round-trip', () => {
  const s = { root: CAP, time: 1700000000000, host: 'h', paths: ['/home/me'], label: 'l', parent: CAP, stats: { files: 1, dirs: 2, symlinks: 0, bytes: 3 } };
  assert.deepEqual(decodeSnapshot(encodeSnapshot(s)), s);
  const h = { snapshots: [{ cap: 'b', time: 2 }, { cap: 'a', time: 1 }] };
  assert.deepEqual(decodeHead(encodeHead(h)).snapshots, [{ cap: 'a', time: 1 }, { cap: 'b', time: 2 }]);
});

test('glob matcher', () => {
  const cases: [string, string, boolean][] = [
    ['*.log', 'a.log', true], ['*.log', '.x.log', true], ['*.log', 'a/b.log', false], ['a?c', 'abc', true],
    ['a?c', 'a/c', false], ['**/x', 'x', true], ['**/x', 'a/b/x', true], ['a/**', 'a/b/c', true], ['a/**/z', 'a/z', true],
    ['a/**/z', 'a/b/c/z', true], ['[ab]c', 'bc', true], ['[!ab]c', 'bc', false], ['[!ab]c', 'xc', true], ['a.b', 'aXb', false],
    ['(x)+', '(x)+', true],
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
