// ShareReader: fetches and verifies the pieces of one untrusted share on demand.
// open(): footer -> UEB (hash must equal the cap's) -> share roots (hash must equal the UEB's) -> header -> block tree (if small).
// readBlock(seg): the block, accepted only if its Merkle path leads to this share's root.
import { HASH_BYTES, TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { FOOTER_BYTES, HEADER_BYTES, UEB_BYTES, WHOLE_TREE_READ_MAX } from './constants.ts';
import { CorruptShareError, type ShareRegion } from './errors.ts';
import { blockOffset, segmentBlockSize, type Geometry } from './geometry.ts';
import { checkHeader, parseFooter } from './layout.ts';
import { blockHash, checkTree, equal, pathIndexes, rootFromPath, treeNode } from './merkle.ts';
import { decodeUeb } from './ueb.ts';

/** One share held by someone else: untrusted, may fail, may lie. `read` must return exactly `length` bytes. */
export interface ShareSource {
  shareNum: number;
  size: number;
  /**
   * `into` (at least `length` bytes): where the bytes may be written (a buffer the caller reuses once the read
   * has resolved); the result is a view of it or other memory. After a failed read it may still be written.
   */
  read(offset: number, length: number, signal?: AbortSignal, into?: Uint8Array): Promise<Uint8Array>;
}

/** What the cap says the share must belong to. */
export interface ShareExpectation {
  storageIndex: Uint8Array;
  uebHash: Uint8Array;
  k: number;
  n: number;
  size: number;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export class ShareReader {
  readonly source: ShareSource;
  readonly shareNum: number;
  private readonly expect: ShareExpectation;
  geometry: Geometry | null = null;
  private root: Uint8Array | null = null;
  private tree: Uint8Array | null = null;
  /** After open(): every share's root (checked against the UEB) and the UEB bytes (checked against the cap). */
  shareRoots: Uint8Array[] = [];
  uebBytes: Uint8Array | null = null;
  reads = 0;

  private readonly treeReadMax: number;
  private readonly groupBytes: number;
  /** Blocks fetched together (see `groupBytes`), by group index; a group is forgotten once its last block is served. */
  private readonly groups = new Map<number, Promise<Uint8Array>>();

  /**
   * `treeReadMax`: largest block tree fetched whole (tests lower it to exercise path-only reads).
   * `groupBytes`: with the tree loaded, read the blocks of consecutive segments together, up to this many
   * bytes per request (a reader that will read segment after segment: one round trip for several blocks).
   */
  constructor(source: ShareSource, expect: ShareExpectation, treeReadMax = WHOLE_TREE_READ_MAX, groupBytes = 0) {
    this.treeReadMax = treeReadMax;
    this.groupBytes = groupBytes;
    this.source = source;
    this.shareNum = source.shareNum;
    this.expect = expect;
  }

  corrupt(region: ShareRegion, reason: string, segment?: number): CorruptShareError {
    return new CorruptShareError({
      storageIndex: hex(this.expect.storageIndex),
      share: this.shareNum,
      region,
      reason,
      ...(segment !== undefined ? { segment } : {})
    });
  }

  private async read(offset: number, length: number, region: ShareRegion, signal?: AbortSignal, segment?: number): Promise<Uint8Array> {
    this.reads++;
    const b = await this.source.read(offset, length, signal);
    if (!(b instanceof Uint8Array) || b.length !== length) throw this.corrupt(region, `asked for ${length} bytes at ${offset}, got ${b?.length}`, segment);
    return b;
  }

  async open(signal?: AbortSignal): Promise<void> {
    const { source, expect } = this;
    if (!Number.isInteger(source.shareNum) || source.shareNum < 0 || source.shareNum >= expect.n) throw this.corrupt('header', 'share number out of range');
    const size = source.size;
    if (!Number.isSafeInteger(size) || size < HEADER_BYTES + FOOTER_BYTES + UEB_BYTES) throw this.corrupt('size', 'share too small');
    const [header, footerBytes] = await Promise.all([
      this.read(0, HEADER_BYTES, 'header', signal),
      this.read(size - FOOTER_BYTES, FOOTER_BYTES, 'footer', signal)
    ]);
    const footer = parseFooter(footerBytes, size);
    if (typeof footer === 'string') throw this.corrupt('footer', footer);
    if (footer.shareNum !== this.shareNum || !equal(footer.storageIndex, expect.storageIndex))
      throw this.corrupt('footer', 'footer names another share or file');
    // One read for the trailer: whole tree + roots + UEB when the tree is small, else roots + UEB.
    const claimedTree = footer.shareRootsOffset - footer.blockTreeOffset;
    const withTree = claimedTree <= this.treeReadMax;
    const start = withTree ? footer.blockTreeOffset : footer.shareRootsOffset;
    const rootsLen = footer.uebOffset - footer.shareRootsOffset;
    if (rootsLen !== expect.n * HASH_BYTES) throw this.corrupt('footer', 'share-roots length does not match n');
    const trailer = await this.read(start, size - FOOTER_BYTES - start, 'ueb', signal);
    const uebBytes = trailer.subarray(footer.uebOffset - start);
    if (!equal(taggedHash(TAGS.ueb, uebBytes), expect.uebHash)) throw this.corrupt('ueb', 'UEB hash does not match the cap');
    const parsed = decodeUeb(uebBytes);
    if (!parsed) throw this.corrupt('ueb', 'UEB is malformed');
    const g = parsed.geometry;
    if (g.k !== expect.k || g.n !== expect.n || g.fileSize !== expect.size) throw this.corrupt('ueb', 'UEB parameters differ from the cap');
    if (
      g.shareSize !== size ||
      g.blockTreeOffset !== footer.blockTreeOffset ||
      g.shareRootsOffset !== footer.shareRootsOffset ||
      g.uebOffset !== footer.uebOffset
    ) {
      throw this.corrupt(g.shareSize !== size ? 'size' : 'footer', 'share size or offsets differ from the UEB geometry');
    }
    const roots = trailer.subarray(footer.shareRootsOffset - start, footer.uebOffset - start);
    const rootList: Uint8Array[] = [];
    for (let i = 0; i < expect.n; i++) rootList.push(roots.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    if (!equal(taggedHash(TAGS.shareRoots, ...rootList), parsed.ueb.shareRootsHash))
      throw this.corrupt('share-roots', 'share roots do not hash to the UEB value');
    this.root = Uint8Array.from(rootList[this.shareNum]);
    this.shareRoots = rootList.map((r) => Uint8Array.from(r));
    this.uebBytes = Uint8Array.from(uebBytes);
    const headerProblem = checkHeader(header, g, this.shareNum, expect.storageIndex);
    if (headerProblem) throw this.corrupt('header', headerProblem);
    if (withTree) {
      const tree = trailer.slice(0, g.treeBytes);
      if (!checkTree(tree, g.leaves, g.numSegments, this.root)) throw this.corrupt('block-tree', 'block tree does not hash to the share root');
      this.tree = tree;
    }
    this.geometry = g;
  }

  /** Whether the whole block tree was fetched and checked at open(). */
  get treeLoaded(): boolean {
    return this.tree !== null;
  }

  /** Fetch and check the whole stored block tree (audits in path-only mode: unused nodes must be right too). */
  async checkStoredTree(signal?: AbortSignal): Promise<void> {
    const g = this.geometry!;
    const tree = await this.read(g.blockTreeOffset, g.treeBytes, 'block-tree', signal);
    if (!checkTree(tree, g.leaves, g.numSegments, this.root!)) throw this.corrupt('block-tree', 'block tree does not hash to the share root');
  }

  /** Block `seg` out of a read of its whole group of consecutive blocks (shared by the group's readers). */
  private async groupedBlock(seg: number, per: number, signal?: AbortSignal): Promise<Uint8Array> {
    const g = this.geometry!;
    const gi = Math.floor(seg / per);
    const first = gi * per;
    const last = Math.min(g.numSegments - 1, first + per - 1);
    let p = this.groups.get(gi);
    if (!p) {
      const start = blockOffset(g, first);
      p = this.read(start, blockOffset(g, last) + segmentBlockSize(g, last) - start, 'block', signal, first);
      p.catch(() => {});
      this.groups.set(gi, p);
    }
    if (seg === last) this.groups.delete(gi);
    const at = blockOffset(g, seg) - blockOffset(g, first);
    return (await p).subarray(at, at + segmentBlockSize(g, seg));
  }

  async readBlock(seg: number, signal?: AbortSignal): Promise<Uint8Array> {
    const g = this.geometry!;
    const per = this.tree && this.groupBytes > 0 ? Math.floor(this.groupBytes / g.blockSize) : 1;
    const block = per > 1 ? await this.groupedBlock(seg, per, signal) : await this.read(blockOffset(g, seg), segmentBlockSize(g, seg), 'block', signal, seg);
    const leaf = blockHash(block);
    const leafIndex = g.leaves - 1 + seg;
    if (this.tree) {
      if (!equal(leaf, treeNode(this.tree, leafIndex))) throw this.corrupt('block', 'block hash mismatch', seg);
      return block;
    }
    // Large tree: fetch the stored leaf and the sibling path; tell a bad block from a bad tree.
    const idx = [leafIndex, ...pathIndexes(seg, g.leaves)];
    const nodes = await Promise.all(idx.map((i) => this.read(g.blockTreeOffset + i * HASH_BYTES, HASH_BYTES, 'block-tree', signal, seg)));
    if (!equal(rootFromPath(nodes[0], seg, g.leaves, nodes.slice(1)), this.root!))
      throw this.corrupt('block-tree', 'Merkle path does not lead to the share root', seg);
    if (!equal(leaf, nodes[0])) throw this.corrupt('block', 'block hash mismatch', seg);
    return block;
  }
}
