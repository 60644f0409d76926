// The pack writer's sizes: a run's first pack is sealed small and each next one at twice the last, up to the
// target, so that a backup's upload starts after about 2 MiB instead of 16; a flush ends the run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPacker } from '../../src/repo/packer.ts';
import { PACK_FIRST_BYTES, PACK_TARGET_BYTES } from '../../src/repo/constants.ts';
import type { PackStore } from '../../src/repo/types.ts';
import type { PackCap } from '../../src/caps/index.ts';

test('pack sizes double from PACK_FIRST_BYTES to PACK_TARGET_BYTES within a run, and start small again after a flush', async () => {
  const sizes: number[] = [];
  const store: PackStore = {
    async putPack(bytes) {
      sizes.push(bytes.length);
      return { type: 'pack', n: sizes.length } as unknown as PackCap;
    },
    async readPack() {
      throw new Error('not read here');
    }
  };
  const packer = createPacker(store);
  const blob = new Uint8Array(1 << 20);
  const MiB = 1 << 20;
  for (let i = 0; i < 60; i++) await packer.add(Uint8Array.of(i), 'data', blob);
  await packer.flush();
  assert.equal(PACK_FIRST_BYTES, 2 * MiB);
  assert.equal(PACK_TARGET_BYTES, 16 * MiB);
  assert.deepEqual(
    sizes.map((s) => s / MiB),
    [2, 4, 8, 16, 16, 14]
  );
  sizes.length = 0;
  for (let i = 0; i < 5; i++) await packer.add(Uint8Array.of(i), 'data', blob);
  await packer.flush();
  assert.deepEqual(
    sizes.map((s) => s / MiB),
    [2, 3],
    'a new run starts small again'
  );
});
