// The client: put files into the swarm and get them back. Upload places n shares on distinct peers
// (servers-of-happiness); download verifies every block and needs any k good shares.
// const r = await upload(await fileInput('a.bin'), finder, { k: 3, n: 5, happy: 4, convergenceSecret });
// const { stream } = await download(r.cap, finder); for await (const chunk of stream) out.write(chunk);
// Mutable slots (folder heads): await publishRecord(finder, writeCap, bytes); (await fetchRecord(finder, readCap))?.payload
export { uploadPack, releaseShareMemory, type UploadOptions, type UploadResult } from './upload.ts';
export { download, downloadPack, findSources, type DownloadOptions, type DownloadHandle } from './download.ts';
export { happiness } from './happiness.ts';
export { NotHappyError, NoPeersError, NotEnoughReplicasError, StaleSeqError, RecordTooLargeError } from './errors.ts';
export {
  publishRecord,
  fetchRecord,
  slotReadCap,
  DEFAULT_REPLICAS,
  DEFAULT_MIN_REPLICAS,
  type PublishOptions,
  type PublishResult,
  type FetchOptions,
  type FetchResult
} from './mutable.ts';
export type { ShareServer, ServerFinder, AcceptDecision, ClientProgress } from './types.ts';
// Health: check (who holds what), verify (every block, verify cap only), repair (rebuild and re-place),
// leases (renew what kept snapshots need), audits (proofs of storage, per-peer ledger), durability maths.
// const r = await checkFile(cap, finder, { verify: true }); if (!r.healthy) await repairFile(cap, finder);
export { checkFile, inspectFile, type FileCheckReport, type CheckOptions } from './check.ts';
export { locate, type Located } from './locate.ts';
export { verifyHolders, type ShareVerdict } from './verify.ts';
export { repairFile, matchShares, type RepairReport, type RepairOptions } from './repair.ts';
export { renewLeases, renewHeads, type LeaseReport, type LeaseOptions } from './leases.ts';
export {
  AuditLedger,
  auditFile,
  availabilityOf,
  AVAILABILITY_WINDOW,
  type AuditResult,
  type AuditOptions,
  type PeerAuditStats,
  type AuditHook,
  type AuditLedgerOptions
} from './audit.ts';
export { atLeast, fileDurability, snapshotDurability } from './durability.ts';
