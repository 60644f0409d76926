// commitSnapshot on a head the store already knows: backups in a row write it without reading it first, a head
// another writer moved in between is read and merged (no snapshot lost), and the unread first try is not a retry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { capOf, commitSnapshot, HeadConflictError, listSnapshots, type FolderHead, type HeadStore } from '../../src/backup/index.ts';
import { createMutableWriteCap, formatCap, toReadCap } from '../../src/caps/index.ts';
import { tempDir } from '../integration/helpers.ts';
import { fileHeadStore } from './heads.ts';

const caps = (h: FolderHead | null) => listSnapshots(h).map((s) => s.cap);
const repo = toReadCap(createMutableWriteCap());
const [a, b, c] = [0, 1, 2].map(() => capOf(repo, { kind: 'snapshot', id: randomBytes(32), key: randomBytes(32) }));

test('a head the store wrote itself is written again without a read', async () => {
  const tmp = await tempDir('p2pb-commit-head-');
  try {
    const heads = fileHeadStore(join(tmp.dir, 'head.json'), { remember: true });
    await commitSnapshot(heads, { cap: a, time: 1 });
    assert.equal(heads.reads, 1, 'nothing known yet: the first commit reads');
    await commitSnapshot(heads, { cap: b, time: 2 });
    await commitSnapshot(heads, { cap: c, time: 3 });
    assert.equal(heads.reads, 1, 'the next ones build on the head as written');
    assert.equal(heads.writes, 3);
    assert.deepEqual(caps((await heads.read())!.head), [a, b, c]);
  } finally {
    await tmp.cleanup();
  }
});

test('a head moved by another writer since is read again and nothing of either is lost', async () => {
  const tmp = await tempDir('p2pb-commit-head-');
  try {
    const path = join(tmp.dir, 'head.json');
    const mine = fileHeadStore(path, { remember: true });
    const other = fileHeadStore(path, { remember: true });
    await commitSnapshot(mine, { cap: a, time: 1 });
    await commitSnapshot(other, { cap: b, time: 2 }); // mine's known head is now one behind
    const readsBefore = mine.reads;
    await commitSnapshot(mine, { cap: c, time: 3 });
    assert.equal(mine.reads, readsBefore + 1, 'the refused guess is followed by one read');
    const { seq, head } = (await mine.read())!;
    assert.deepEqual(caps(head), [a, b, c]);
    assert.equal(seq, 3);
  } finally {
    await tmp.cleanup();
  }
});

test('an unread guess refused does not count as one of the retries', async () => {
  // A store whose head always moves before the write: every write is refused.
  let seq = 0;
  let reads = 0;
  const moving = (known: boolean): HeadStore => ({
    async read() {
      reads++;
      return { seq: ++seq, head: { snapshots: [] } };
    },
    async write(_h, prev) {
      throw new HeadConflictError(prev, prev === null ? 1 : prev + 1);
    },
    ...(known ? { known: () => ({ seq: 0, head: { snapshots: [] } }) } : {})
  });
  for (const known of [false, true]) {
    reads = 0;
    await assert.rejects(commitSnapshot(moving(known), { cap: 'x', time: 1 }, { retries: 2 }), HeadConflictError);
    assert.equal(reads, 3, `retries: 2 is 3 reads, with a known head (${known}) as without`);
  }
});

test('a snapshot already in the head is not listed twice, the repository stays, and other errors are not retried', async () => {
  const tmp = await tempDir('p2pb-commit-head-');
  try {
    const heads = fileHeadStore(join(tmp.dir, 'head.json'), { remember: true });
    const withRepo = { repo: formatCap(repo), snapshots: [] };
    await heads.write(withRepo, null);
    await commitSnapshot(heads, { cap: a, time: 1 });
    await commitSnapshot(heads, { cap: a, time: 1 });
    const { head } = (await heads.read())!;
    assert.deepEqual(caps(head), [a], 'once');
    assert.equal(head.repo, formatCap(repo), 'the head keeps naming its repository');
  } finally {
    await tmp.cleanup();
  }
  let writes = 0;
  const failing: HeadStore = {
    async read() {
      return null;
    },
    async write() {
      writes++;
      throw new Error('disk on fire');
    },
    known: () => ({ seq: 1, head: { snapshots: [] } })
  };
  await assert.rejects(commitSnapshot(failing, { cap: a, time: 1 }), /disk on fire/);
  assert.equal(writes, 1, 'an error that is not a conflict ends it, guess or not');
});
