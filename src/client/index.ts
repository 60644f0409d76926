// The client: put files into the swarm and get them back. Upload places n shares on distinct peers
// (servers-of-happiness); download verifies every block and needs any k good shares.
// const r = await upload(await fileInput('a.bin'), finder, { k: 3, n: 5, happy: 4, convergenceSecret });
// const { stream } = await download(r.cap, finder); for await (const chunk of stream) out.write(chunk);
// Mutable slots (folder heads): await publishRecord(finder, writeCap, bytes); (await fetchRecord(finder, readCap))?.payload
export { upload, type UploadOptions, type UploadResult } from './upload.ts';
export { download, findSources, type DownloadOptions, type DownloadHandle } from './download.ts';
export { happiness } from './happiness.ts';
export { NotHappyError, NoPeersError, NotEnoughReplicasError, StaleSeqError, RecordTooLargeError } from './errors.ts';
export {
  publishRecord, fetchRecord, slotReadCap, DEFAULT_REPLICAS, DEFAULT_MIN_REPLICAS,
  type PublishOptions, type PublishResult, type FetchOptions, type FetchResult,
} from './mutable.ts';
export type { ShareServer, ServerFinder, AcceptDecision, ClientProgress } from './types.ts';
