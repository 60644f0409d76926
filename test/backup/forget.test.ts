import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forgetPolicy, type ForgetPolicy } from '../../src/backup/index.ts';

// Local-time snapshots (buckets are local time), newest first in the expectations.
const at = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo - 1, d, h, mi).getTime();
const snaps = [
  at(2024, 1, 1, 10),
  at(2024, 1, 1, 18), // Mon 1 Jan (ISO week 2024-01)
  at(2024, 1, 2),
  at(2024, 1, 7), // Tue, Sun (week 1)
  at(2024, 1, 8),
  at(2024, 1, 15), // Mondays (weeks 2, 3)
  at(2024, 2, 1),
  at(2024, 2, 29, 9),
  at(2024, 2, 29, 23, 59),
  at(2024, 3, 31),
  at(2023, 12, 31),
  at(2022, 6, 1)
].map((time, i) => ({ cap: `s${i}`, time }));
const label = new Map(snaps.map((s) => [s.cap, new Date(s.time).toISOString().slice(0, 10)]));

const cases: [string, ForgetPolicy, string[]][] = [
  [
    'no rule keeps everything',
    {},
    snaps
      .map((s) => s.cap)
      .reverse()
      .sort()
  ],
  ['keepLast 3', { keepLast: 3 }, ['s9', 's8', 's7']],
  ['keepDaily 4: the latest of each of the 4 newest days', { keepDaily: 4 }, ['s9', 's8', 's6', 's5']],
  ['keepWeekly 3 (ISO weeks)', { keepWeekly: 3 }, ['s9', 's8', 's6']],
  ['keepMonthly 4', { keepMonthly: 4 }, ['s9', 's8', 's5', 's10']],
  ['keepYearly unlimited (-1)', { keepYearly: -1 }, ['s9', 's10', 's11']],
  ['keepLast 1 + keepMonthly 2: union', { keepLast: 1, keepMonthly: 2 }, ['s9', 's8']],
  ['keepWeekly covering Jan weeks', { keepWeekly: 8 }, ['s9', 's8', 's6', 's5', 's4', 's3', 's10', 's11']]
];

for (const [name, policy, keep] of cases) {
  test(`forgetPolicy: ${name}`, () => {
    const d = forgetPolicy(snaps, policy);
    const kept = d.keep.map((s) => s.cap);
    assert.deepEqual(name.startsWith('no rule') ? [...kept].sort() : kept, keep, kept.map((c) => label.get(c)).join(' '));
    assert.equal(d.keep.length + d.remove.length, snaps.length);
    for (const s of d.remove) assert.ok(!kept.includes(s.cap));
  });
}

test('forgetPolicy gives the reasons, restic style', () => {
  const d = forgetPolicy(snaps, { keepLast: 1, keepDaily: 2 });
  assert.deepEqual(
    d.keep.map((s) => [s.cap, s.reasons]),
    [
      ['s9', ['last', 'daily']],
      ['s8', ['daily']]
    ]
  );
});
