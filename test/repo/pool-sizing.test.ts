// What the restore's pools keep between packs: one full pack's worth each, not more. A restore drops a big file's
// packs one at a time as it reads them; a second pack's worth kept only sat idle (1 GiB restore, `bench backup`:
// client peak 265-266 MiB with one, 281-286 with two).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SHARE_POOL_BYTES, sharesBytes } from '../../src/format/index.ts';
import { PACK_POOL_BYTES, PACK_TARGET_BYTES } from '../../src/repo/index.ts';

test("the decoder's share pool keeps one full pack's k whole shares, not two packs'", () => {
  for (const { k, n } of [
    { k: 3, n: 5 },
    { k: 2, n: 3 }
  ]) {
    const kShares = (sharesBytes(PACK_TARGET_BYTES, { k, n }) / n) * k;
    assert.ok(SHARE_POOL_BYTES >= kShares, `${k}-of-${n}: room for one pack's ${k} shares (${kShares} bytes)`);
    assert.ok(SHARE_POOL_BYTES < 2 * kShares, `${k}-of-${n}: no room for a second pack's`);
  }
});

test('the pack pool keeps one full pack buffer, not two', () => {
  assert.ok(PACK_POOL_BYTES >= PACK_TARGET_BYTES);
  assert.ok(PACK_POOL_BYTES < 2 * PACK_TARGET_BYTES);
});
