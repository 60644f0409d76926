import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareUtf8 } from '../../src/common/utf8.ts';
import { mulberry32 } from '../../src/fairness/sim/rng.ts';

const byBytes = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

test('compareUtf8 orders as the UTF-8 bytes do where UTF-16 code units do not (code points above U+FFFF)', () => {
  // UTF-16: U+1F600 is D83D DE00, below U+E000 and U+FFFD; UTF-8: F0 9F 98 80, above EE 80 80 and EF BF BD.
  for (const [a, b] of [
    ['\uE000', '\u{1F600}'],
    ['x\uFFFD', 'x\u{1F600}'],
    ['\uFFFF', '\u{10000}'],
    ['a\u{1F600}b', 'a\u{1F601}a'],
    ['ab', 'ab\u{1F600}'],
    ['a-b', 'a/b'],
    ['', 'a']
  ]) {
    assert.equal(compareUtf8(a, b), -1, `${JSON.stringify(a)} < ${JSON.stringify(b)}`);
    assert.equal(compareUtf8(b, a), 1, `${JSON.stringify(b)} > ${JSON.stringify(a)}`);
  }
  for (const s of ['', 'a', '\u{1F600}', '\uE000z']) assert.equal(compareUtf8(s, s), 0);
});

test('compareUtf8 agrees with Buffer.compare of the encodings on random strings of mixed planes', () => {
  // Short strings over a small alphabet, so that most pairs share a prefix and differ where it matters.
  // Lone surrogates too: UTF-8 has no encoding of them, Buffer.from writes U+FFFD, and so must the order.
  const alphabet = ['a', 'b', '-', '.', '/', 'é', '\u0800', '\uD7FF', '\uE000', '\uFFFD', '\uFFFF', '\u{10000}', '\u{1F600}', '\u{10FFFF}', '\uD800', '\uDFFF'];
  const next = mulberry32(7);
  const rand = (n: number) => Math.floor(next() * n);
  const str = () => Array.from({ length: rand(5) }, () => alphabet[rand(alphabet.length)]).join('');
  let disagreeWithUtf16 = 0;
  for (let i = 0; i < 20_000; i++) {
    const a = str();
    const b = str();
    assert.equal(compareUtf8(a, b), byBytes(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    if ((a < b ? -1 : a > b ? 1 : 0) !== byBytes(a, b)) disagreeWithUtf16++;
  }
  assert.ok(disagreeWithUtf16 > 100, `the sample must hold pairs that UTF-16 order gets wrong (${disagreeWithUtf16})`);
  const names = Array.from({ length: 500 }, str);
  assert.deepEqual([...names].sort(compareUtf8), [...names].sort(byBytes));
});
