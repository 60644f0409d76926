// Capabilities: the strings that name a file and grant one authority over it (read, verify, write),
// their text form `p2pb:<type>:<base32>:<checksum>`, one-way derivations, mutable signed records.
// const cap = parseCap('p2pb:blob:…:…');           // throws InvalidCapError on any typo
// const si = storageIndexOf(cap); const vc = formatCap(toVerifyCap(cap));
export * from './constants.ts';
export type * from './types.ts';
export { InvalidCapError, InvalidRecordError } from './errors.ts';
export { base32Encode, base32Decode } from './base32.ts';
export { formatCap, parseCap, capBody, packKey } from './text.ts';
export { toVerifyCap, toReadCap, storageIndexOf, packStorageIndex, pubKeyHashOf, mutablePublicKey } from './derive.ts';
export { createMutableWriteCap, signRecord, verifyRecord, openRecord, type VerifiedRecord } from './mutable.ts';
