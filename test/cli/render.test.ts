// The CLI's text renderers with crafted input (issue 17 item 13): names, link targets, paths and errors
// that carry terminal escapes, bidi overrides and newlines come out escaped; times out of Date's range
// (a crafted snapshot's 30-digit mtime) print as unknown instead of throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isoFromNs,
  isoTime,
  printable,
  renderBackup,
  renderCheck,
  renderDiff,
  renderError,
  renderLs,
  renderRestore,
  renderSnapshots,
  renderStatus,
  renderWatchList,
  renderPeers,
  UNKNOWN_TIME
} from '../../src/cli/render.ts';

/** Anything a terminal would act on: C0 (but the newlines between lines), DEL, C1, bidi and zero-width format characters. */
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;
const EVIL = 'a\x1b]0;owned\x07b\x1b[2J\x9b31m\u202egnp.exe\r\n\t\\x';

test('printable escapes controls, C1, bidi overrides, newlines and the backslash; leaves other text alone', () => {
  assert.equal(printable(EVIL), 'a\\x1b]0;owned\\x07b\\x1b[2J\\x9b31m\\u202egnp.exe\\r\\n\\t\\\\x');
  assert.equal(printable('notes — ünïcödé 写真.md'), 'notes — ünïcödé 写真.md');
  assert.equal(printable('\x00\x7f\u200b\ufeff'), '\\x00\\x7f\\u200b\\ufeff');
  assert.equal(printable(42), '42');
});

test('times: in range as ISO 8601 (as before), out of range or not a number as UNKNOWN_TIME, never a throw', () => {
  assert.equal(isoFromNs('1700000000123456789'), new Date(1700000000123).toISOString());
  assert.equal(isoFromNs('-1000000'), new Date(-1).toISOString());
  assert.equal(isoFromNs('0'), '1970-01-01T00:00:00.000Z');
  for (const bad of ['9'.repeat(30), '8640000000000000001000000', '-' + '9'.repeat(22), '1e9', '', ' 1', '12a', '9'.repeat(1_000_000)]) {
    assert.equal(isoFromNs(bad), UNKNOWN_TIME, bad.slice(0, 40));
  }
  assert.equal(isoFromNs(12 as unknown), UNKNOWN_TIME);
  assert.equal(isoTime(1e20), UNKNOWN_TIME);
  assert.equal(isoTime(Number.NaN), UNKNOWN_TIME);
  assert.equal(isoTime('5' as unknown), UNKNOWN_TIME);
  assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
  assert.equal(UNKNOWN_TIME.length, isoTime(0).length, 'columns stay aligned');
});

test('ls: a crafted name, link target and 30-digit mtime are printed escaped, in the usual columns', () => {
  const text = renderLs({
    entries: [
      { name: EVIL, type: 'symlink', mode: 0o777, mtimeNs: '9'.repeat(30), target: '\x1b]52;c;cm0gLXJmIH4=\x07' },
      { name: 'ok.txt', type: 'file', mode: 0o644, size: 5, mtimeNs: '1700000000000000000' }
    ]
  });
  const [l1, l2] = text.split('\n');
  assert.doesNotMatch(text, RAW);
  assert.equal(l1, `l0777              ${UNKNOWN_TIME} ${printable(EVIL)} -> \\x1b]52;c;cm0gLXJmIH4=\\x07`);
  assert.equal(l2, `-0644            5 2023-11-14T22:13:20.000Z ok.txt`);
});

test('diff, restore, backup, snapshots, watch list, status, check and errors escape what they print', () => {
  const outputs = [
    renderDiff({ added: [EVIL], removed: [`dir/${EVIL}`], changed: ['\x1b[1A'], metadata: ['\u2066x'] }),
    renderRestore({ stats: { files: 1, bytesWritten: 2, failed: [{ path: EVIL, error: `cannot write ${EVIL}` }] } }, `/tmp/${EVIL}`),
    renderBackup(
      { rootCap: 'p2pb:mr:x', lastSnapshot: { cap: 'p2pb:chk:y' } },
      { files: 1, dirs: 0, symlinks: 0, unchanged: 0, bytesRead: 0, bytesTotal: 0, skipped: [{ path: EVIL, error: EVIL }] },
      1
    ),
    renderSnapshots({ snapshots: [{ cap: 'p2pb:chk:\x1b[2J', time: 1e300 }] }),
    renderWatchList({ folders: [{ state: '\x1b[5m', watch: true, path: EVIL, lastSnapshot: { time: -1e300 }, lastError: EVIL }] }),
    renderStatus(
      {
        peerId: 'p',
        home: EVIL,
        api: { url: 'u' },
        privateSwarm: false,
        peersConnected: 0,
        storage: { shares: 0, used: 0, offered: 0 },
        encoding: { k: 3, n: 5, happy: 4 },
        addresses: [EVIL],
        folders: [{ state: 'idle', watch: false, path: EVIL, lastSnapshot: null }],
        health: { lastRun: 1e300, filesTracked: 0, repaired: 0, durability: null },
        reachability: {
          summary: `relay ${EVIL}`,
          unconfirmed: [EVIL],
          relayServer: { reservations: 1, circuits: 0, bytesRelayed: 0, rate: 0, dailyBytes: 1, overBudget: 0 }
        }
      },
      null
    ),
    renderPeers({ peers: [{ id: EVIL, addresses: [EVIL], reach: 'relay', relay: EVIL }] }),
    renderCheck({
      files: [{ recoverable: false, healthy: false, found: 0, total: 5, needed: 3, hosts: 0, happiness: 0, cap: EVIL }],
      errors: [{ error: EVIL }],
      objects: 1,
      snapshots: [],
      healthy: 0,
      unhealthy: 1,
      unrecoverable: 1
    }),
    renderError(new Error(`cannot restore ${EVIL}`), true)
  ];
  for (const text of outputs) {
    assert.doesNotMatch(text, RAW, text);
    assert.ok(text.includes('\\x1b') || text.includes('\\u'), `the escape is shown: ${text}`);
  }
  assert.match(outputs[0], /^\+ a\\x1b\]0;owned\\x07b/);
  assert.match(outputs[3], /^\?{4}-/, 'a snapshot time out of range does not throw');
});
