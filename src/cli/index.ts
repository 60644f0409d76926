// The `p2pbackup` command: commander definitions (program.ts), a client of the daemon's API
// (api-client.ts), progress on stderr, and the one error -> exit code table (exit-codes.ts).
// p2pbackup --home /tmp/sw put photo.jpg      # prints the read cap
// p2pbackup --home /tmp/sw get CAP -o copy.jpg
export { buildProgram } from './program.ts';
export { ApiClient } from './api-client.ts';
export { EXIT, exitCodeOf } from './exit-codes.ts';
