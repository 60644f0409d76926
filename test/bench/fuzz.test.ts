// The short version of `npm run fuzz` (bench/fuzz.ts): every decoder of untrusted bytes takes 2,000 seeded
// inputs (mostly structured mutations of valid ones) without a crash, in bounded memory; and the harness does
// find a crash when there is one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzTarget } from '../../bench/fuzz.ts';
import { TARGETS, type FuzzTarget } from '../../bench/fuzz-targets.ts';

for (const t of TARGETS) {
  test(`fuzz ${t.name}: 2,000 inputs, no crash, bounded memory`, async () => {
    const r = await fuzzTarget(t, { inputs: 2_000, seed: 17 });
    assert.equal(r.crashes, 0, JSON.stringify(r.samples));
    assert.ok(r.refused > 0 && r.accepted > 0, `both refusals and valid inputs are reached (${r.refused} / ${r.accepted})`);
    assert.ok(r.peakHeapMiB < 512, `peak heap ${r.peakHeapMiB} MiB`);
  });
}

test('a decoder that throws something other than its named refusal is reported as a crash, reproducibly', async () => {
  const [frame] = TARGETS;
  const fragile: FuzzTarget = {
    ...frame,
    name: 'fragile',
    run: (b) => {
      if (b.includes(0x80) && b.length > 40) throw new TypeError('boom');
      return frame.run(b);
    }
  };
  const a = await fuzzTarget(fragile, { inputs: 500, seed: 5 });
  const b = await fuzzTarget(fragile, { inputs: 500, seed: 5 });
  assert.ok(a.crashes > 0);
  assert.deepEqual([a.crashes, a.refused, a.samples], [b.crashes, b.refused, b.samples]);
  assert.match(a.samples[0].error, /TypeError: boom/);
});
