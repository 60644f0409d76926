// Storing an index part: a blob of kind 'index' under a random key, in a pack of its own, located directly by the
// repository record (the index cannot locate itself). Not deduplicated: every part is new bytes.
import { randomBytes } from '../crypto/random.ts';
import { sealBlob } from './blob.ts';
import { encodeIndexPart, type IndexEntry } from './index-part.ts';
import { createPacker } from './packer.ts';
import type { IndexPartRef } from './record.ts';
import type { PackStore } from './types.ts';

export async function storeIndexPart(packs: PackStore, entries: IndexEntry[], signal?: AbortSignal): Promise<IndexPartRef> {
  const id = randomBytes(32),
    key = randomBytes(32);
  const packer = createPacker(packs, { signal });
  const { stored } = await packer.add(id, 'index', sealBlob('index', encodeIndexPart(entries), key));
  await packer.flush();
  const loc = await stored;
  return { pack: loc.pack, offset: loc.offset, length: loc.length, id, key };
}
