// End to end across hosts (issue 9): every peer in its own network namespace (test/multihost/fixture.ts),
// 6 storage hosts + 1 client host. The client backs up a generated tree of 2,000 files (seeded content,
// nested dirs, mostly 100 B–64 KiB plus 2 × 16 MiB and 1 × 64 MiB); while the backup runs, two storage
// hosts are cut off the network (daemons still running, unreachable). With 3-of-5 and happy = 4 the four
// hosts left can still make every upload happy, so the backup must exit 0, or, if it fails, exit 5 naming
// found/needed. Then the client's health loop (short interval through P2PBACKUP_HEALTH) must repair what
// the cut degraded: `check ROOTCAP --deep --json` must show every object recoverable with its shares on at
// least 4 distinct live hosts (5 distinct hosts is impossible with 4 left). For that phase the cut hosts
// reject connections instead of dropping them silently (see below: a silent cut costs every check of
// every object a dial timeout; P2PBACKUP_E2E_SILENT_CUT=1 keeps it silent). A fresh client host, started only then and bootstrapped to the live hosts,
// restores the root cap; the tree must come back byte for byte (same files, same sha256).
// Needs root and `ip netns`; skipped with the reason printed otherwise.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mulberry32 } from '../../src/fairness/sim/rng.ts';
import { NetFixture, skipReason, type Host } from './fixture.ts';

const STORAGE = 6;
const CUT = 2;
const HAPPY = 4; // default encoding 3-of-5, happy 4
const FILES = 2_000;
const LARGE = [64 * 2 ** 20, 16 * 2 ** 20, 16 * 2 ** 20];
const SEED = 9;
/** Cut the two hosts once the backup has reported this many files done (or after CUT_AFTER_MS). */
const CUT_AFTER_FILES = 300;
const CUT_AFTER_MS = 20_000;
const BACKUP_TIMEOUT_MS = 10 * 60_000;
const REPAIR_WAIT_MS = Number(process.env.P2PBACKUP_E2E_REPAIR_WAIT_MS ?? 10 * 60_000);

const net = new NetFixture({ prefix: 'p2pe', subnet: '10.78.0', port: 4001 });
const skip = skipReason('p2pe');
if (skip) console.log(`# skipping multi-host e2e test: ${skip}`);
else net.installExitHandlers();

after(async () => {
  await net.cleanup();
  assert.deepEqual(net.leftover(), [], 'no namespace of this run is left behind');
});

/** Deterministic bytes for a path: AES-256-CTR keystream keyed by sha256(seed, path). */
async function writeSeeded(path: string, size: number): Promise<void> {
  const key = createHash('sha256').update(`${SEED}:${path}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(Math.min(size, 1 << 20));
  const fh = await open(path, 'w');
  try {
    for (let left = size; left > 0; left -= zeros.length) await fh.write(cipher.update(left >= zeros.length ? zeros : zeros.subarray(0, left)));
  } finally {
    await fh.close();
  }
}

/** The tree: FILES files under 20 × 5 nested dirs (some files at the upper levels too); returns total bytes. */
async function generateTree(root: string): Promise<number> {
  const rnd = mulberry32(SEED);
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const a = Math.floor(rnd() * 20);
    const b = Math.floor(rnd() * 6); // 5: directly in the top-level dir
    const dir = b === 5 ? join(root, `d${a}`) : join(root, `d${a}`, `e${b}`, 'f');
    const size = i < LARGE.length ? LARGE[i] : Math.round(100 * Math.pow(65536 / 100, rnd())); // log-uniform 100 B–64 KiB
    const path = join(dir, `file-${i}.bin`);
    await mkdir(dirname(path), { recursive: true });
    await writeSeeded(path, size);
    bytes += size;
  }
  return bytes;
}

/** Relative path -> sha256 of every regular file under root. */
async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else if (e.isFile()) {
        const h = createHash('sha256');
        for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
        out.set(relative(root, p), h.digest('hex'));
      }
    }
  };
  await visit(root);
  return out;
}

interface CheckedObject {
  cap: string;
  verifyCap: string | null;
  recoverable: boolean;
  happiness: number;
  hosts: number;
  holders: Record<string, string[]>;
}

test(
  '6 storage hosts + client: back up 2,000 files, cut 2 hosts mid-backup, health repairs, a fresh host restores byte-identical',
  { skip: skip ?? false, timeout: 25 * 60_000 },
  async (t) => {
    const log = (m: string) => {
      t.diagnostic(m);
      process.stderr.write(`# ${m}\n`);
    };
    const tStart = Date.now();
    await net.createHub();

    // The tree first (seeded, so every run backs up the same bytes).
    const src = join(net.dir, 'tree');
    let t0 = Date.now();
    const treeBytes = await generateTree(src);
    const expected = await hashTree(src);
    assert.equal(expected.size, FILES);
    log(`tree: ${FILES} files, ${(treeBytes / 2 ** 20).toFixed(1)} MiB in ${Date.now() - t0} ms`);

    // Topology: 6 storage hosts, the client, the restore host (its daemon only starts at the end).
    const storage = Array.from({ length: STORAGE }, (_, i) => net.addHost(`s${i + 1}`, 11 + i));
    const client = net.addHost('c', 21);
    const fresh = net.addHost('r', 22);
    t0 = Date.now();
    // Storage hosts serve this one client, which offers nothing back: a grace as large as their offer.
    for (const [i, h] of storage.entries()) await net.startDaemon(h, i === 0 ? [] : storage[0].member!.addresses, '4GiB', { graceBytes: 4 * 2 ** 30 });
    await net.startDaemon(
      client,
      storage.flatMap((h) => h.member!.addresses),
      '0',
      { env: { P2PBACKUP_HEALTH: JSON.stringify({ intervalMs: 2_000 }) } }
    );
    const idOf = (h: Host) => h.member!.peerId;
    const seen = await net.waitPeers(client, storage.map(idOf), STORAGE);
    log(`${STORAGE + 1} daemons up in ${Date.now() - t0} ms; the client sees ${seen} of ${STORAGE} storage hosts`);
    assert.ok(seen >= HAPPY + 1, `the client connected to enough storage hosts (${seen})`);

    // The backup, as a child process; cut two storage hosts once it is well under way.
    const cutHosts = storage.slice(STORAGE - CUT);
    const live = storage.slice(0, STORAGE - CUT);
    const liveIds = new Set(live.map(idOf));
    let filesDone = 0;
    let cutAt: number | null = null;
    let cutFiles = 0;
    const cutNow = () => {
      if (cutAt !== null) return;
      cutAt = Date.now();
      cutFiles = filesDone;
      for (const h of cutHosts) net.cut(h);
      log(`cut ${cutHosts.map((h) => `${h.name} (${h.addr})`).join(', ')} off after ${filesDone} files, ${cutAt - t0} ms into the backup`);
    };
    t0 = Date.now();
    let buf = '';
    const backupRun = net.cli(client, ['--json', 'backup', src], BACKUP_TIMEOUT_MS, (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.includes('"backup:backup:status"')) filesDone = Math.max(filesDone, JSON.parse(l).event.files);
      if (filesDone >= CUT_AFTER_FILES) cutNow();
    });
    const timer = setTimeout(cutNow, CUT_AFTER_MS);
    const backup = await backupRun;
    clearTimeout(timer);
    log(`backup exited ${backup.code} after ${backup.ms} ms (${filesDone} files done by the last status line; cut after ${cutFiles})`);
    assert.ok(cutAt !== null && cutFiles < FILES, 'the cut happened while the backup was running');
    for (const h of cutHosts) assert.equal(h.child!.exitCode, null, `${h.name}'s daemon is still running, only cut off`);
    if (backup.code !== 0) {
      // Not happy with 4 hosts left: it must say so precisely (exit 5, how many found / needed).
      const why = (await net.logWarnings(client, 5)).join('\n');
      assert.equal(
        backup.code,
        5,
        `a failed backup exits 5 (got ${backup.code}): ${backup.stderr}\n${backup.stdout.trim().split('\n').slice(-2).join('\n')}\n${why}`
      );
      assert.match(backup.stderr, /(found|reached only) \d+.*\d+ needed|need(ed)? \d+/i, `the failure names found/needed: ${backup.stderr}`);
      assert.fail(`backup not completed though ${live.length} hosts stayed up (happy = ${HAPPY}): ${backup.stderr.trim()}`);
    }
    const summary = backup.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.type === 'summary');
    assert.ok(summary, `a summary line: ${backup.stdout.slice(-500)}`);
    const rootCap: string = summary.rootCap;
    assert.match(rootCap, /^p2pb:/);
    assert.equal(summary.stats.files, FILES, 'every file in the snapshot');
    assert.equal(summary.stats.bytesTotal, treeBytes);
    assert.deepEqual(summary.stats.skipped ?? [], [], 'nothing skipped');

    t0 = Date.now();
    // What a silent cut costs: the cut hosts stay candidates (DHT closest peers), and every LIST to one waits
    // for a dial that never answers (up to LIST_TIMEOUT_MS = 5 s in src/client/locate.ts) -- per object, in
    // every check and every health round. Measured on one object (the snapshot) with P2PBACKUP_E2E_CHECK_TIMES=1
    // (7 s a check each way since candidate lists stopped waiting for DHT walks; 12-35 s before).
    const timeCheck = async (what: string) => {
      if (process.env.P2PBACKUP_E2E_CHECK_TIMES !== '1') return;
      const r = await net.cli(client, ['--json', 'check', summary.snapshotCap], 60_000);
      log(`${what}: check of one object took ${r.ms} ms (exit ${r.code})`);
    };
    await timeCheck('silent cut');
    // Stored one by one (before packs), ~2,000 objects made a deep check or a full health pass take tens of
    // minutes that way (a deep check did not finish in 240 s). So, unless
    // P2PBACKUP_E2E_SILENT_CUT=1, the repair phase runs with the cut hosts *rejecting* (a prohibit route on
    // the client and the restore host: what a router answering "host unreachable" gives); the backup
    // above ran against the silent cut either way.
    if (process.env.P2PBACKUP_E2E_SILENT_CUT !== '1') {
      for (const h of cutHosts) {
        net.reject(client, h);
        net.reject(fresh, h);
      }
      await timeCheck('rejecting cut');
    }

    // First follow the health loop in the client's daemon.log: wait for a full pass (files checked >= the snapshot's objects) in which
    // nothing was repaired; only then ask `check --deep` (once, normally).
    // Stored objects of this (first) backup: its packs (data and metadata).
    const objects: number = summary.stats.packs;
    assert.ok(objects >= 2 && objects < FILES / 10, `${objects} stored objects for ${FILES} files (packed)`);
    const passDeadline = Date.now() + REPAIR_WAIT_MS;
    let since = 0;
    let repaired = 0;
    while (Date.now() < passDeadline) {
      const lines = (await readFile(join(client.home, 'daemon.log'), 'utf8')).split('\n');
      const rounds = lines
        .filter((l) => l.includes('"health: round done"'))
        .map((l) => JSON.parse(l) as { filesChecked: number; repaired: number; repairFailed: number });
      // Counted from the "health: repaired" lines: a repair that lifts happiness 3 -> 4 (all 4 live hosts
      // can give) is logged as repaired but counted in the round's repairFailed (repairFile's `repaired`
      // means happiness >= n = 5, the health loop's aim is only >= its threshold, 4).
      repaired = lines.filter((l) => l.includes('"health: repaired"')).length;
      since = 0;
      for (const r of rounds) since = r.repaired > 0 || r.repairFailed > 0 ? 0 : since + r.filesChecked;
      if (since >= objects) break; // a full pass without a repair
      await sleep(5_000);
    }
    log(`health loop: ${repaired} objects repaired; ${since} checked since the last repair (${Date.now() - t0} ms after the backup)`);

    // The health loop (every 2 s on the client) repairs what the cut degraded. With 4 live storage hosts,
    // 5 shares cannot all be on distinct hosts again (happiness 5 needs 5 hosts), so what must hold is:
    // every object recoverable from live hosts alone, and its shares on >= happy = 4 distinct live hosts.
    const deadline = Date.now() + REPAIR_WAIT_MS;
    let last = '';
    let ok = false;
    let checks = 0;
    while (Date.now() < deadline) {
      const r = await net.cli(client, ['--json', 'check', rootCap, '--deep'], Math.max(30_000, deadline - Date.now()));
      checks++;
      let report: { objects: number; recoverable: boolean; unrecoverable: number; errors: unknown[]; files: CheckedObject[] } | null = null;
      try {
        report = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      } catch {}
      if (!report) {
        last = `check exited ${r.code} without a report: ${r.stderr.trim().slice(-300)}`;
      } else {
        const stored = report.files.filter((f) => f.verifyCap !== null); // literal caps hold their bytes
        const liveHosts = (f: CheckedObject) =>
          new Set(
            Object.values(f.holders)
              .flat()
              .filter((p) => liveIds.has(p))
          ).size;
        const onCut = stored.filter((f) =>
          Object.values(f.holders)
            .flat()
            .some((p) => !liveIds.has(p))
        ).length;
        const weak = stored.filter((f) => !f.recoverable || liveHosts(f) < HAPPY);
        last = `${report.objects} objects (${stored.length} stored): ${report.unrecoverable} unrecoverable, ${weak.length} below ${HAPPY} live hosts, ${onCut} listing a cut host, ${report.errors.length} walk errors`;
        log(`check ${checks} after ${Date.now() - t0} ms: ${last}`);
        if (report.recoverable && report.errors.length === 0 && weak.length === 0) {
          ok = true;
          break;
        }
      }
      await sleep(3_000);
    }
    assert.ok(ok, `health loop repaired within ${REPAIR_WAIT_MS / 1000} s: ${last}`);
    log(`repaired in ${Date.now() - t0} ms (${checks} deep checks)`);

    // A fresh client host, started now, joined to the live storage hosts only: restore, compare byte for byte.
    t0 = Date.now();
    await net.startDaemon(
      fresh,
      live.flatMap((h) => h.member!.addresses),
      '0'
    );
    for (const h of cutHosts) assert.equal(await net.tcpReach(fresh, h.addr), false, `${h.name} is unreachable from the fresh host`);
    const seenByFresh = await net.waitPeers(fresh, live.map(idOf), live.length);
    log(`fresh host sees ${seenByFresh} of ${live.length} live storage hosts`);
    const target = join(net.dir, 'restored');
    const restore = await net.cli(fresh, ['--json', 'restore', rootCap, target], 10 * 60_000);
    assert.equal(restore.code, 0, `restore failed (${restore.code}): ${restore.stderr.slice(-2000)}`);
    const got = await hashTree(target);
    assert.equal(got.size, expected.size, 'same number of files');
    const differ = [...expected].filter(([p, h]) => got.get(p) !== h).map(([p]) => p);
    assert.deepEqual(differ.slice(0, 10), [], `${differ.length} files differ`);
    log(`restore on the fresh host: ${restore.ms} ms; ${got.size} files byte-identical; whole test ${Date.now() - tStart} ms`);

    await net.cleanup();
    assert.deepEqual(net.leftover(), [], 'no namespace of this test left behind');
  }
);
