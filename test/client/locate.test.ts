// Finding holders after the swarm has grown: holders among the closest peers do not announce provider
// records (src/net/node.ts shouldAnnounce), so when newer peers now form the closest set and hold nothing,
// locate() must fall back to every peer it knows. Real DiskStores, real upload and download.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { NotEnoughSharesError } from '../../src/format/index.ts';
import { checkFile, download, uploadPack, type ServerFinder } from '../../src/client/index.ts';
import { rankByDistance, shouldAnnounce } from '../../src/net/index.ts';
import { createGrid, ENCODING } from '../backup/grid.ts';

const grid = await createGrid({ stores: 8 });
after(() => grid.close());

async function readAll(cap: string, finder: ServerFinder): Promise<Buffer> {
  const h = await download(cap, finder);
  const parts: Uint8Array[] = [];
  for await (const c of h.stream) parts.push(c);
  return Buffer.concat(parts);
}

test('holders outside the closest set are found by asking every known peer, and only then', async () => {
  const holders = grid.servers.slice(0, 5);
  const newcomers = grid.servers.slice(5); // the closest set now: three peers holding nothing
  const data = randomBytes(300_000);
  const { capText: cap } = await uploadPack(data, { candidates: async () => holders }, ENCODING);

  const grown: ServerFinder = { candidates: async () => newcomers, providers: async () => [] };
  await assert.rejects(readAll(cap, grown), NotEnoughSharesError, 'without a last resort the shares are not found');

  let knownCalls = 0;
  const withKnown: ServerFinder = {
    ...grown,
    known: async () => {
      knownCalls++;
      return grid.servers;
    }
  };
  assert.deepEqual(await readAll(cap, withKnown), data);
  assert.equal(knownCalls, 1);

  // When the closest peers hold enough, the last resort is never asked.
  const steady: ServerFinder = {
    candidates: async () => holders,
    known: async () => {
      knownCalls++;
      return grid.servers;
    }
  };
  assert.deepEqual(await readAll(cap, steady), data);
  assert.equal(knownCalls, 1);
});

test('shouldAnnounce: only a holder outside the closest set announces', async () => {
  const ids = await Promise.all(Array.from({ length: 30 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))));
  const key = randomBytes(16);
  const ranked = rankByDistance(key, ids);
  // Every peer ranks the same swarm alike: the 10 nearest stay quiet, the rest announce.
  for (const [i, id] of ranked.entries()) assert.equal(shouldAnnounce(key, id, ids, 10), i >= 10, `rank ${i}`);
  // A small swarm: everyone is among the closest, nobody announces.
  const small = ids.slice(0, 6);
  for (const id of small) assert.equal(shouldAnnounce(key, id, small, 10), false);
  // A holder that knows only part of the swarm judges by what it knows (locate's last resort covers the rest).
  const far = ranked[29];
  assert.equal(shouldAnnounce(key, far, ranked.slice(20, 29), 10), false);
});

test('a check asked for `enough` shares looks no further once the closest peers hold that many; by default, or verifying, it looks for all n', async () => {
  const holders = grid.servers.slice(0, 5);
  const { capText: cap } = await uploadPack(randomBytes(300_000), { candidates: async () => holders }, ENCODING);
  // One holder is down: not among the candidates. The other four hold 4 distinct shares of 5.
  let further = 0;
  const finder: ServerFinder = {
    candidates: async () => holders.slice(0, 4),
    providers: async () => {
      further++;
      return [];
    },
    known: async () => {
      further++;
      return grid.servers;
    }
  };
  const health = await checkFile(cap, finder, { enough: 4 });
  assert.equal(further, 0, 'neither provider records nor every known peer asked');
  assert.deepEqual([health.found, health.hosts, health.happiness, health.recoverable], [4, 4, 4, true]);
  const full = await checkFile(cap, finder);
  assert.equal(further, 2, 'by default: provider records, then every known peer');
  assert.deepEqual([full.found, full.hosts, full.happiness], [5, 5, 5]);
  await checkFile(cap, finder, { enough: 4, verify: true });
  assert.equal(further, 4, 'verifying looks for every share');
  // Short of `enough` among the closest, it looks further as before.
  const fewer: ServerFinder = { ...finder, candidates: async () => holders.slice(0, 3) };
  const short = await checkFile(cap, fewer, { enough: 4 });
  assert.equal(further, 6);
  assert.equal(short.found, 5);
});
