// verifyShare: check every byte of one share against its pack cap.
import { InvalidCapError } from '../caps/errors.ts';
import { parseCap } from '../caps/text.ts';
import { packStorageIndex } from '../caps/derive.ts';
import type { PackCap } from '../caps/types.ts';
import { CorruptShareError } from './errors.ts';
import { ShareReader, type ShareSource } from './reader.ts';

export interface ShareReport {
  share: number;
  ok: boolean;
  segments: number; // blocks in the share (0 if it could not be opened)
  blocksChecked: number; // blocks that verified
  errors: CorruptShareError[];
  readError?: unknown; // set if a read threw (share unavailable rather than corrupt)
}

export type VerifyProgress = { type: 'block'; share: number; segment: number; segments: number };

export async function verifyShare(
  cap: PackCap | string,
  source: ShareSource,
  opts: { signal?: AbortSignal; onProgress?: (e: VerifyProgress) => void; treeReadMax?: number } = {}
): Promise<ShareReport> {
  const c = typeof cap === 'string' ? parseCap(cap) : cap;
  if (c.type !== 'pack') throw new InvalidCapError('ERR_CAP_WRONG_KIND', 'verifying needs a pack cap', { type: c.type });
  const storageIndex = packStorageIndex(c.uebHash);
  const reader = new ShareReader(source, { storageIndex, uebHash: c.uebHash, k: c.k, n: c.n, size: c.size }, opts.treeReadMax);
  const report: ShareReport = { share: source.shareNum, ok: false, segments: 0, blocksChecked: 0, errors: [] };
  const note = (e: unknown): boolean => {
    if (e instanceof CorruptShareError) {
      report.errors.push(e);
      return true;
    }
    if (e instanceof Error && e.name === 'AbortError') throw e;
    report.readError = e;
    return false;
  };
  try {
    await reader.open(opts.signal);
  } catch (e) {
    note(e);
    return report;
  }
  const g = reader.geometry!;
  report.segments = g.numSegments;
  for (let seg = 0; seg < g.numSegments; seg++) {
    opts.signal?.throwIfAborted();
    try {
      await reader.readBlock(seg, opts.signal);
      report.blocksChecked++;
    } catch (e) {
      if (!note(e)) return report;
    }
    opts.onProgress?.({ type: 'block', share: source.shareNum, segment: seg, segments: g.numSegments });
  }
  if (!reader.treeLoaded) {
    try {
      await reader.checkStoredTree(opts.signal);
    } catch (e) {
      if (!note(e)) return report;
    }
  }
  report.ok = report.errors.length === 0 && report.blocksChecked === g.numSegments;
  return report;
}
