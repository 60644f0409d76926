// The `p2pbackup` command: the program (program.ts) and its commands (commands/, one file per command or
// noun), each a client of the daemon's API (src/api/client.ts); text renderers in render.ts; progress on
// stderr; the one error -> exit code table (exit-codes.ts). bin.ts alone touches the process.
// p2pbackup --home /tmp/sw put photo.jpg      # prints the read cap
// p2pbackup --home /tmp/sw get CAP -o copy.jpg
export { buildProgram } from './program.ts';
export type { CliIo } from './context.ts';
export { EXIT, exitCodeOf } from './exit-codes.ts';
export { printable } from './render.ts';
